"""The per-run supervisor: `python -m autotrain_tui.core.supervisor RUN_DIR` (no torch).

It exists so that `run.json` is right even when no UI is alive: it starts the recipe in a
new session (its own process group), records pid, pgid and start time, sends the recipe's
stdout and stderr straight into `stdout.log` (the recipe writes to the file itself, so the
log keeps filling even if the supervisor dies), waits, writes the final status and exit
code, and then advances the queue, because its run just freed capacity.

It ignores SIGHUP and SIGINT, so a closing terminal does not take it down. SIGTERM to the
supervisor means "stop the run": it sends SIGTERM to the recipe (the group leader) and, when
the grace period recorded in `run.json` is over, SIGKILL to the whole group; once the recipe
has exited, any process left in its group is SIGKILLed too. Without `--foreground`
it double-forks and returns to its launcher once it has recorded its pid, so a long-lived
launcher (the UI) never accumulates zombies.

The recipe is reaped only after its group has been swept: while it is an unreaped zombie its
pid (the group id) cannot be given to another process, so the sweep reaches nothing else. A
full disk must not leave the run `running` for ever: the supervisor keeps a small reserve
file beside `run.json`, frees it when a write finds no space, and records the run `failed`
with the reason.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import psutil

from autotrain_tui.core import identity
from autotrain_tui.core.gpus import default_inventory
from autotrain_tui.core.groups import kill_group_and_wait, signal_group
from autotrain_tui.core.launcher import spawn_supervisor
from autotrain_tui.core.queue import advance_queue
from autotrain_tui.core.runs import (
    STDOUT_LOG,
    SUPERVISOR_RESERVE,
    RunRecord,
    RunStatus,
    modify_run,
    read_run,
)

DEFAULT_GRACE_S = 30.0
EXIT_COMPLETED, EXIT_FAILED, EXIT_INVALID_CONFIG, EXIT_STOPPED = 0, 1, 2, 3
EXIT_PRUNED = 5  # a search sweep's pruner stopped it (checkpoint saved)
EXIT_GATE_CLOSED, EXIT_CANNOT_START = 125, 127
# Space set aside at start (SUPERVISOR_RESERVE), so the end can be recorded on a full disk.
RESERVE_BYTES = 256 * 1024

# The recipe's process starts as this gate: an interpreter without site packages (a few
# milliseconds) that waits until the supervisor has recorded its pid in run.json, then
# execs the recipe in place (same pid, same start time). A supervisor killed before that
# record closes the pipe unanswered; the gate then exits and nothing trains unrecorded,
# beyond the reach of stop and kill (the run is found `lost`, with nothing left running).
GATE = f"""\
import os, sys
fd = int(sys.argv[1])
go = os.read(fd, 1) == b"1"
os.close(fd)
if not go:
    sys.exit({EXIT_GATE_CLOSED})
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as error:
    print(f"autotrain-tui: cannot start {{' '.join(sys.argv[2:])}}: {{error}}", file=sys.stderr)
    sys.exit({EXIT_CANNOT_START})
"""


def gated(command: list[str], gate_fd: int) -> list[str]:
    """`command`, to be started behind the gate that reads `gate_fd` (see GATE)."""
    return [sys.executable, "-I", "-S", "-c", GATE, str(gate_fd), *command]


class _StopSignal(Exception):
    """Raised from the SIGTERM handler to wake the main thread out of `wait()`."""


def final_status(returncode: int, stop_requested: bool) -> RunStatus:
    """The contract's mapping from the recipe's exit to the recorded status."""
    if returncode == EXIT_COMPLETED:
        return RunStatus.COMPLETED
    if returncode == EXIT_STOPPED:
        return RunStatus.STOPPED
    if returncode == EXIT_PRUNED:
        return RunStatus.PRUNED
    if returncode < 0:
        return RunStatus.STOPPED if stop_requested else RunStatus.FAILED
    return RunStatus.FAILED


class Supervisor:
    """Runs one recipe process to its end and records what happened."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.stop_flag = False
        self.stop_applied = False
        self.waiting = False
        self.kill_deadline: float | None = None
        self.record: RunRecord | None = None  # as recorded with the recipe's pid and ticks

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # Only flags here: the real work takes the run lock, which the main thread may hold.
        self.stop_flag = True
        if self.waiting:
            raise _StopSignal

    def register(self) -> RunRecord:
        """Record our own pid and start: from now on the run has an owner."""
        me = psutil.Process()
        record = modify_run(
            self.run_dir,
            lambda cur: cur.replace(
                supervisor_pid=me.pid,
                supervisor_create_time=me.create_time(),
                supervisor_start_ticks=identity.start_ticks(me.pid),
                boot_id=identity.boot_id(),
            ),
        )
        _make_reserve(self.run_dir)
        return record

    def run(self) -> int:
        record = read_run(self.run_dir)
        if record.status is not RunStatus.RUNNING:
            print(f"supervisor: run is {record.status.value}, not running; nothing to do")
            return 0
        if record.stop_requested:
            self._finish(None, RunStatus.STOPPED, "stopped before it started")
            return 0
        env = dict(os.environ)
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # CUDA indices = NVML indices = ledger indices
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in record.gpus)
        env["PYTHONUNBUFFERED"] = "1"  # the log fills as things happen, not at exit
        gate_read, gate_write = os.pipe()
        with open(self.run_dir / STDOUT_LOG, "ab", buffering=0) as log:
            try:
                self.proc = subprocess.Popen(
                    gated(list(record.command), gate_read),
                    cwd=record.cwd or None,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(gate_read,),
                )
            except OSError as error:
                os.close(gate_write)
                message = f"cannot start {' '.join(record.command)}: {error}"
                log.write(f"autotrain-tui: {message}\n".encode())
                self._finish(None, RunStatus.FAILED, message)
                return 0
            finally:
                os.close(gate_read)
        proc = self.proc
        try:
            create_time = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            create_time = time.time()
        ticks = identity.start_ticks(proc.pid)
        recorded = False
        try:
            record = modify_run(
                self.run_dir,
                lambda cur: cur.replace(
                    pid=proc.pid,
                    pgid=proc.pid,
                    create_time=create_time,
                    start_ticks=ticks,
                    boot_id=identity.boot_id(),
                ),
            )
            recorded = True
        finally:
            # Recorded: through the gate. Not recorded (an error above): the gate closes.
            with contextlib.suppress(BrokenPipeError):  # a gate already killed
                os.write(gate_write, b"1" if recorded else b"0")
            os.close(gate_write)
        if record.stop_requested:
            self.stop_flag = True
        self.record = record
        self._wait(proc)
        # The recipe has exited but is not reaped yet, so its group id is still its own.
        survivors = kill_group_and_wait(record)
        if survivors:
            _say(f"supervisor: {len(survivors)} process(es) of group {proc.pid} survived SIGKILL")
        returncode = proc.wait()
        stop_requested = self.stop_applied or _stop_recorded(self.run_dir)
        status = final_status(returncode, stop_requested)
        reason = None
        if returncode < 0:
            reason = f"killed by {signal.Signals(-returncode).name}"
        elif returncode == EXIT_CANNOT_START:
            reason = f"cannot start {' '.join(record.command)} (see stdout.log)"
        if status is RunStatus.FAILED and _disk_full(self.run_dir):
            reason = f"no space left on the disk of {self.run_dir} (free some and resume the run)"
        self._finish(returncode if returncode >= 0 else None, status, reason)
        return 0

    def _wait(self, proc: subprocess.Popen[bytes]) -> None:
        """Return once the recipe has exited, leaving it unreaped (see the module's docstring)."""
        exited = _exit_waiter(proc)
        while True:
            try:
                self.waiting = True
                if self.stop_flag and not self.stop_applied:
                    raise _StopSignal
                timeout = None
                if self.kill_deadline is not None:
                    timeout = max(0.0, self.kill_deadline - time.monotonic())
                done = exited(timeout)
                self.waiting = False
                if done:
                    return
                self.kill_deadline = None
                _say(f"supervisor: grace period over, SIGKILL to group {proc.pid}")
                self._signal_group(signal.SIGKILL)
            except _StopSignal:
                self.waiting = False
                self._apply_stop(proc)

    def _signal_group(self, sig: int) -> None:
        # Gated on the recipe's recorded identity, like every other signal to a group.
        if self.record is not None:
            signal_group(self.record, sig)

    def _apply_stop(self, proc: subprocess.Popen[bytes]) -> None:
        self.stop_applied = True

        def ensure_recorded(cur: RunRecord) -> RunRecord | None:
            if cur.stop_requested:
                return None
            return cur.replace(
                stop_requested="stop", stop_requested_at=time.time(), stop_grace_s=DEFAULT_GRACE_S
            )

        try:
            record = modify_run(self.run_dir, ensure_recorded)
        except OSError:  # a full disk: the stop is ours to apply all the same
            record = read_run(self.run_dir)
        if record.stop_requested == "kill":
            self._signal_group(signal.SIGKILL)
            return
        grace = record.stop_grace_s if record.stop_grace_s is not None else DEFAULT_GRACE_S
        # SIGTERM to the whole group: the recipe checkpoints and exits; DataLoader workers
        # ignore it (the recipe ends them itself) and DDP ranks each stop at the same batch.
        # Whatever of the group is left is SIGKILLed when the recipe exits or the grace ends.
        _say(f"supervisor: stop requested, SIGTERM to group {proc.pid}, grace {grace:g} s")
        self._signal_group(signal.SIGTERM)
        self.kill_deadline = time.monotonic() + grace

    def _finish(self, exit_code: int | None, status: RunStatus, reason: str | None) -> None:
        def end(cur: RunRecord) -> RunRecord:
            return cur.replace(
                status=status, exit_code=exit_code, ended_at=time.time(), reason=reason
            )

        try:
            modify_run(self.run_dir, end)
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            # The disk filled up: the reserve set aside at start makes room for this write.
            _release_reserve(self.run_dir)
            modify_run(self.run_dir, end)
        _release_reserve(self.run_dir)
        _say(f"supervisor: run ended: {status.value} (exit code {exit_code})")
        runs_dir = self.run_dir.parent
        try:
            advance_queue(runs_dir, default_inventory(), spawn_supervisor)
        except Exception:
            traceback.print_exc()


def _say(line: str) -> None:
    """A line in supervisor.log; a log that cannot be written (full disk) is no reason to die."""
    with contextlib.suppress(OSError, ValueError):
        print(line, flush=True)


def _stop_recorded(run_dir: Path) -> bool:
    try:
        return bool(read_run(run_dir).stop_requested)
    except (OSError, ValueError):
        return False


def _exit_waiter(proc: subprocess.Popen[bytes]) -> Callable[[float | None], bool]:
    """A function that waits up to a timeout for `proc` to exit, without reaping it.

    A pidfd becomes readable when its process exits; where there is none (kernels before
    5.3), `waitid(WNOWAIT)` is polled.
    """
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        fd = None

    def exited(timeout: float | None) -> bool:
        if fd is not None:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(None if timeout is None else timeout * 1000))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            flags = os.WEXITED | os.WNOWAIT | os.WNOHANG
            if os.waitid(os.P_PID, proc.pid, flags) is not None:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    return exited


def _make_reserve(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(run_dir / SUPERVISOR_RESERVE, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)


def _release_reserve(run_dir: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(run_dir / SUPERVISOR_RESERVE)


def _disk_full(run_dir: Path) -> bool:
    """Whether the run directory's filesystem has no room left for a small write."""
    try:
        fd = os.open(run_dir / ".supervisor.probe", os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as error:
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    try:
        os.posix_fallocate(fd, 0, 64 * 1024)
        return False
    except OSError as error:
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(run_dir / ".supervisor.probe")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    foreground = "--foreground" in args
    positional = [a for a in args if not a.startswith("--")]
    if len(positional) != 1:
        print(
            "usage: python -m autotrain_tui.core.supervisor RUN_DIR [--foreground]", file=sys.stderr
        )
        return 2
    supervisor = Supervisor(Path(positional[0]).resolve())
    supervisor.install_signal_handlers()
    if not foreground:
        ready_read, ready_write = os.pipe()
        if os.fork() > 0:
            # The intermediate process: report whether the supervisor registered, then exit.
            os.close(ready_write)
            answer = os.read(ready_read, 1)
            os._exit(0 if answer == b"1" else 1)
        os.close(ready_read)
        os.setsid()
        try:
            supervisor.register()
        except BaseException:
            os.write(ready_write, b"0")
            raise
        os.write(ready_write, b"1")
        os.close(ready_write)
    else:
        supervisor.register()
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
