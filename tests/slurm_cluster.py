"""A real one-node SLURM cluster on localhost, for the tests of the SLURM backend (#13).

Why a real one: the backend talks to `sbatch`, `squeue`, `scancel` and `scontrol`, whose
output formats, states and reasons are the contract; a mock would only test our guess of
them. Debian's slurm-wlm (22.05) and munge start in well under a second, so the suite can
own a private cluster: munged with its own key and socket, slurmctld and slurmd in the
foreground (-D), each in its own process group started here by pid (no systemd), and
config, state, spool and logs in one temp directory. Clients find it through SLURM_CONF
(`SlurmCluster.env`). Nothing of it outlives `stop()`: every job is cancelled, every daemon
terminated by process group, and any process still carrying the cluster's marker variable
(slurmstepd, a job's script) is killed; a session killed outright leaves nothing either (see
tests/slurm_processes.py).

Install the packages with scripts/ensure_slurm.sh (`make test` does).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.slurm_processes import (
    CONF_HEADER,
    DAEMONS,
    MARKER,
    die_with_parent,
    kill_marked,
    kill_orphans,
    marked_pids,
    terminate_group,
)

__all__ = ["MARKER", "SlurmCluster", "SlurmClusterError", "marked_pids", "running_cluster"]

# How long a requeued job waits before it may start again (slurm's default is 120 s).
CRED_EXPIRE_S = 5  # the least slurm 22.05 accepts (slurmd falls back to 120 below it)
START_TIMEOUT_S = 30.0
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the terminating NUL
PROGRAMS = (*DAEMONS, "sbatch", "squeue", "sinfo", "scontrol", "scancel")


class SlurmClusterError(RuntimeError):
    """The cluster could not start (or a client failed); the message carries the logs."""


def missing_programs() -> list[str]:
    """The SLURM and munge programs this machine lacks (scripts/ensure_slurm.sh installs them)."""
    search = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    return [name for name in PROGRAMS if shutil.which(name, path=search) is None]


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 now (held open together so none repeats)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def usable_cpus() -> int:
    """The CPUs this process may run on (what `nproc` prints)."""
    return len(os.sched_getaffinity(0))


def conservative_memory_mb() -> int:
    """Three quarters of MemTotal: slurmd drains a node whose RealMemory exceeds what it finds."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return max(1, int(line.split()[1]) * 3 // 4 // 1024)
    return 1024


@dataclass
class SlurmCluster:
    """One private cluster: `start()`, use `env` for clients, `stop()` (idempotent)."""

    # Short, in /tmp: slurmd's sockets (spool/localhost_<job>.<step>) and munged's must fit
    # in the 107 bytes of a unix socket path; pytest's tmp_path is often too deep.
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="slurm-")))
    cpus: int = field(default_factory=usable_cpus)
    memory_mb: int = field(default_factory=conservative_memory_mb)
    extra_conf: Sequence[str] = ()  # more slurm.conf lines (a test of a failed start uses it)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)  # slurmctld's, slurmd's
    start_seconds: float = 0.0

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """The environment for clients (and the jobs they submit) of this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf), MARKER: str(self.root)}

    def log(self, name: str) -> Path:
        return self.root / "log" / f"{name}.log"

    # --- start -------------------------------------------------------------------------

    def start(self) -> SlurmCluster:
        """Write the config, start munged, slurmctld, slurmd; return once the node is idle."""
        missing = missing_programs()
        if missing:
            raise SlurmClusterError(
                f"the SLURM tests need {', '.join(missing)}: run 'bash scripts/ensure_slurm.sh' "
                "(as root it installs slurm-wlm and munge with apt-get)"
            )
        longest = len(os.fsencode(self.root.resolve() / "spool" / "localhost_1234567.4294967291"))
        if longest > MAX_SOCKET_PATH:
            raise SlurmClusterError(
                f"the cluster's directory {self.root} is too deep for slurm's unix sockets "
                f"({longest} > {MAX_SOCKET_PATH} bytes): use a shorter one (or a shorter TMPDIR)"
            )
        kill_orphans()
        began = time.monotonic()
        try:
            self._write_files()
            self._start_munged()
            # Each daemon listening before the next starts: a daemon that dies is reported at
            # once (a client such as sinfo would retry a dead controller for seconds).
            self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
            self.wait_for(lambda: _listening(self.ports[0]), "slurmctld to listen")
            self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)])
            self.wait_for(lambda: _listening(self.ports[1]), "slurmd to listen")
            self._wait_idle()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def _write_files(self) -> None:
        for sub in ("munge", "state", "spool", "log", "run", "jobs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "munge").chmod(0o755)  # munged wants its socket reachable by all users
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        user = pwd.getpwuid(os.getuid()).pw_name
        self.ports = free_ports(2)
        ctld_port, slurmd_port = self.ports
        self.conf.write_text(
            "\n".join(
                [
                    CONF_HEADER,
                    "ClusterName=autotrain-test",
                    "SlurmctldHost=localhost",
                    f"SlurmctldPort={ctld_port}",
                    f"SlurmdPort={slurmd_port}",
                    f"SlurmUser={user}",
                    f"SlurmdUser={user}",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={self._munge_socket},cred_expire={CRED_EXPIRE_S}",
                    f"StateSaveLocation={self.root / 'state'}",
                    f"SlurmdSpoolDir={self.root / 'spool'}",
                    f"SlurmctldPidFile={self.root / 'run' / 'slurmctld.pid'}",
                    f"SlurmdPidFile={self.root / 'run' / 'slurmd.pid'}",
                    f"SlurmctldLogFile={self.log('slurmctld')}",
                    f"SlurmdLogFile={self.log('slurmd')}",
                    "SlurmctldDebug=info",
                    "SlurmdDebug=info",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_CPU",
                    "MpiDefault=none",
                    "MailProg=/bin/true",
                    "ReturnToService=2",
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/none",
                    "SchedulerType=sched/backfill",
                    # Schedule every second, not every 30-60 s: a requeued job starts as soon
                    # as cred_expire allows, a pending job gets its reason at once.
                    "SchedulerParameters=sched_interval=1,bf_interval=1",
                    # Quick test turnaround: a killed job's processes get 2 s after TERM.
                    "KillWait=2",
                    "InactiveLimit=0",
                    f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} "
                    f"RealMemory={self.memory_mb} State=UNKNOWN",
                    "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
                    *self.extra_conf,
                    "",
                ]
            )
        )

    @property
    def _munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    def _start_munged(self) -> None:
        munge = self.root / "munge"
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={self._munge_socket}",
                f"--key-file={munge / 'munge.key'}",
                f"--pid-file={munge / 'munged.pid'}",
                f"--seed-file={munge / 'munged.seed'}",
                f"--log-file={self.log('munged')}",
            ],
        )
        self.wait_for(self._munge_socket.exists, "munged's socket")

    def _spawn(self, name: str, argv: Sequence[str]) -> None:
        out = self.log(f"{name}.stdout").open("ab")
        try:
            env = {**self.env, "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin"}
            self.procs[name] = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
                start_new_session=True,  # its own process group: stop() signals the group
                preexec_fn=die_with_parent,
            )
        finally:
            out.close()

    def _wait_idle(self) -> None:
        def idle() -> bool:
            result = self.run(["sinfo", "-h", "-N", "-o", "%T"], check=False)
            return result.returncode == 0 and result.stdout.strip() == "idle"

        self.wait_for(idle, "the node to be idle in sinfo")

    def wait_for(
        self, ready: Callable[[], object], what: str, timeout: float = START_TIMEOUT_S
    ) -> None:
        """Poll `ready` every 50 ms; raise with the daemons' logs if a daemon dies or time runs
        out (a guard against hanging, not a measurement)."""
        deadline = time.monotonic() + timeout
        while True:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SlurmClusterError(
                        f"{name} exited with {proc.returncode} while waiting for {what}\n"
                        + self.logs()
                    )
            if ready():
                return
            if time.monotonic() > deadline:
                raise SlurmClusterError(
                    f"timed out after {timeout:.0f} s waiting for {what}\n" + self.logs()
                )
            time.sleep(0.05)

    def logs(self) -> str:
        """Every daemon's log, for a failure message."""
        parts = []
        for path in sorted((self.root / "log").glob("*.log")):
            text = path.read_text(errors="replace")[-4000:]
            parts.append(f"--- {path.name} ---\n{text}")
        return "\n".join(parts) or "(no daemon logs)"

    # --- use -----------------------------------------------------------------------------

    def run(
        self, argv: Sequence[str], *, check: bool = True, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a client command against this cluster (text output); raise on failure if check."""
        result = subprocess.run(
            list(argv), env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise SlurmClusterError(
                f"{' '.join(argv)} exited with {result.returncode}: {result.stderr.strip()}"
            )
        return result

    def job_ids(self) -> list[str]:
        """Every job this cluster still knows as active (pending, running, completing...)."""
        out = self.run(["squeue", "-h", "-o", "%i"], check=False).stdout
        return out.split()

    def job_state(self, job_id: str) -> tuple[str, str]:
        """(state, reason) of a job, finished ones included (`squeue -t all` keeps them for
        MinJobAge, 300 s): e.g. ("PENDING", "Resources"), ("COMPLETED", "None")."""
        out = self.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T|%r"]).stdout
        state, _, reason = out.strip().partition("|")
        return state, reason

    def submit(self, *args: str) -> str:
        """`sbatch --parsable ARGS`; the job id. Without -o/--output, the job's output goes to
        the cluster's jobs/ folder, not to slurm-<id>.out in the current directory (the repo)."""
        given = any(a in ("-o", "--output") or a.startswith("--output=") for a in args)
        output = [] if given else [f"--output={self.root / 'jobs' / 'slurm-%j.out'}"]
        return self.run(["sbatch", "--parsable", *output, *args]).stdout.strip().split(";")[0]

    def cancel_all(self, timeout: float = 10.0) -> None:
        """Cancel every job (batch shells and all their steps) and wait until none is left."""
        self.run(["scancel", "--partition", "debug"], check=False, timeout=timeout)
        deadline = time.monotonic() + timeout
        while self.job_ids() and time.monotonic() < deadline:
            time.sleep(0.1)

    # --- stop ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Cancel every job, terminate the daemons, kill whatever still carries the marker."""
        if self.procs.get("slurmctld") is not None and self.procs["slurmctld"].poll() is None:
            with contextlib.suppress(Exception):
                self.cancel_all()
        for name in reversed(DAEMONS):
            proc = self.procs.pop(name, None)
            if proc is not None:
                terminate_group(proc)
        kill_marked(str(self.root))


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_cluster(**options: object) -> Iterator[SlurmCluster]:
    """A started cluster in a fresh temp directory, stopped (and the directory removed) after,
    whatever happens in between; `options` go to SlurmCluster."""
    cluster = SlurmCluster(**options)  # type: ignore[arg-type]
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
