"""The SLURM client commands the backend runs: `sbatch`, `squeue`, `scancel`, `scontrol`.

Each call has a timeout (a hung slurmctld must not hang the UI) and turns a failure into a
ManagerError with the command's own last line of stderr, which is what a user needs to read
(`sbatch: error: invalid partition specified: gpu`). The commands talk to whatever cluster
`SLURM_CONF` (or the system's slurm.conf) names; the tests point it at their own cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from autotrain_tui.core.errors import ManagerError

# A controller that is down makes the clients retry for a while; the UI polls in a worker
# thread, but a poll that waits longer than this says nothing useful anyway.
TIMEOUT_S = 15.0
# One line per job; `|` never occurs in these fields (a reason is one word, a node list has
# no `|`). `%i` is `123` or `123_4` for an array task (with -r, one line per task).
SQUEUE_FORMAT = "%i|%T|%r|%N|%L"
# States after which a job never runs again (squeue -t all keeps them for MinJobAge).
FINAL_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "REVOKED",
        "SPECIAL_EXIT",
        "TIMEOUT",
    }
)


@dataclass(frozen=True)
class JobView:
    """One line of `squeue`: a job as the controller sees it now."""

    job_id: str
    state: str
    reason: str | None
    node: str | None
    time_left: str | None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


def available() -> str | None:
    """None when `sbatch` and `squeue` are on PATH, else one line saying what is missing."""
    missing = [name for name in ("sbatch", "squeue", "scancel") if shutil.which(name) is None]
    if missing:
        return f"{', '.join(missing)} not found on PATH: this machine is not a SLURM login node"
    return None


def _run(
    argv: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as error:
        raise ManagerError(f"{argv[0]} not found: is this a SLURM login node?") from error
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ManagerError(f"`{' '.join(argv[:2])}` did not answer: {error}") from error


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}"


def sbatch(script: str, cwd: str, env: dict[str, str]) -> str:
    """Submit the batch script file `script`; return the job id (`--parsable`'s first field)."""
    result = _run(["sbatch", "--parsable", f"--chdir={cwd}", script], env)
    if result.returncode != 0:
        raise ManagerError(f"sbatch refused the job: {_last_line(result)}")
    job_id = result.stdout.strip().split(";")[0]  # `id;cluster` on a federated cluster
    if not job_id.isdigit():
        raise ManagerError(f"sbatch printed no job id: {result.stdout.strip()[:80]!r}")
    return job_id


def squeue_user(user: str | None = None) -> dict[str, JobView]:
    """Every job of `user` (default: this one) the controller knows, finished ones included.

    One call for all of them, however many runs a project has. Raises ManagerError when
    the controller cannot be asked: the caller then knows nothing, which is not `gone`.
    """
    user = user or _user()
    result = _run(["squeue", "-h", "-r", "-t", "all", "-u", user, "-o", SQUEUE_FORMAT])
    if result.returncode != 0:
        raise ManagerError(f"squeue failed: {_last_line(result)}")
    return parse_squeue(result.stdout)


def parse_squeue(text: str) -> dict[str, JobView]:
    jobs: dict[str, JobView] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 5 or not parts[0]:
            continue
        job_id, state, reason, node, left = (p.strip() for p in parts)
        jobs[job_id] = JobView(
            job_id=job_id,
            state=state,
            reason=None if reason in ("", "None", "(null)") else reason,
            node=node or None,
            time_left=None if left in ("", "INVALID", "NOT_SET") else left,
        )
    return jobs


def scancel(job_id: str, *, signal: str | None = None, full: bool = False) -> None:
    """Cancel the job, or with `signal` only signal it (its steps; with `full` the batch
    shell too). A job that has already ended is not an error."""
    argv = ["scancel"]
    if signal is not None:
        argv.append(f"--signal={signal}")
    if full:
        argv.append("--full")
    # A signal to a job between states makes scancel retry for ~100 s: bounded by our
    # timeout, and then the caller cancels instead (`backend.request_stop`).
    result = _run([*argv, job_id])
    if result.returncode != 0:
        line = _last_line(result)
        if "already completing or completed" in line or "Invalid job id" in line:
            return
        raise ManagerError(f"scancel {job_id} failed: {line}")


def cluster_name() -> str | None:
    """`ClusterName` of the cluster the commands talk to (job ids are per cluster)."""
    try:
        result = _run(["scontrol", "show", "config"])
    except ManagerError:
        return None
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "ClusterName":
            return value.strip() or None
    return None


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())
