"""Finding and ending the processes of a test SLURM cluster (tests/slurm_cluster.py).

A cluster's processes are not one process tree: slurmd hands each job to a slurmstepd of its
own, which outlives slurmd. So every process of a cluster carries a marker variable naming
the cluster's directory (the daemons get it from the test process, slurmstepd from slurmd, a
job from sbatch, which exports the submitter's environment), and clean-up finds them by it in
/proc. The daemons also ask for SIGTERM when the test process dies (PR_SET_PDEATHSIG), and the
next cluster to start kills what a session killed outright left behind (kill_orphans).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
from pathlib import Path

MARKER = "AUTOTRAIN_TEST_SLURM"
DAEMONS = ("munged", "slurmctld", "slurmd")
# The first line of every slurm.conf the tests write: only such a directory is ever removed.
CONF_HEADER = "# Written by tests/slurm_cluster.py: a private one-node test cluster."


def die_with_parent() -> None:
    """In the child before exec: SIGTERM me when the test process dies, even by SIGKILL."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def terminate_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` seconds; reap the leader."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)
            if not _group_alive(proc.pid):
                return


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def marked_pids(value: str) -> list[int]:
    """Processes (other than this one) whose environment has MARKER=value."""
    return marked_clusters().get(value, [])


def marked_clusters() -> dict[str, list[int]]:
    """Every cluster directory named by a live process's marker, with those processes."""
    found: dict[str, list[int]] = {}
    prefix = f"{MARKER}=".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(prefix):
                found.setdefault(os.fsdecode(item[len(prefix) :]), []).append(int(entry.name))
    return found


def kill_orphans() -> list[int]:
    """Kill what a test session killed by SIGKILL left: its daemons die with it (PDEATHSIG),
    but slurmstepd and the jobs it runs live on. A cluster none of whose daemons is alive is
    dead; a live one (another session's, even one still starting) is left alone. Removes a
    dead cluster's directory too. Returns the pids killed."""
    killed = []
    for root, pids in marked_clusters().items():
        if any(program(pid) in DAEMONS for pid in pids):
            continue
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        conf = Path(root) / "slurm.conf"
        with contextlib.suppress(OSError):
            if conf.read_text().startswith(CONF_HEADER):
                shutil.rmtree(root, ignore_errors=True)
    return killed


def program(pid: int) -> str:
    """The name a process runs as ("slurmd"), or "" if it is gone or a zombie."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return ""
    return os.path.basename(os.fsdecode(argv0))


def kill_marked(value: str) -> None:
    """SIGKILL every process of the cluster in directory `value` (its jobs and slurmstepds)."""
    for pid in marked_pids(value):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
