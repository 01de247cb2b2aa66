"""Stop and kill: signals to a run's processes, recorded first so the status is right.

Stop is SIGTERM to the recipe (the group leader), which checkpoints and winds down its
DataLoader workers and DDP ranks, then SIGKILL to the whole group after the grace period or
as soon as the recipe has exited; kill is SIGKILL to the whole group at once. Either way no
process of the group is left.

The request is written into `run.json` (`stop_requested`, `stop_requested_at`,
`stop_grace_s`) before any signal leaves, so whoever records the end — the supervisor, or a
manager that later finds the run dead — knows it was asked for and writes `stopped`, even
when the recipe dies by signal. A stop goes through the supervisor (SIGTERM to it), which
owns the grace period and the SIGKILL that follows, so the escalation happens even if the
UI is closed right after. Without a live supervisor the caller sends the signals itself.
Every signal is gated on the identity recorded in `run.json` (pid and start ticks): a
process, or a group, that now belongs to someone else is never signalled.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autotrain_tui.core import identity
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.groups import kill_group_and_wait, signal_group
from autotrain_tui.core.queue import cancel_queued
from autotrain_tui.core.runs import (
    RunRecord,
    RunStatus,
    modify_run,
    read_run,
    recipe_alive,
    reconcile,
    supervisor_alive,
)

DEFAULT_GRACE_S = 30.0
SETTLE_S = 30.0  # how long a waiting stop waits past the grace period for the end


@dataclass(frozen=True)
class StopRequest:
    """What `request_stop` did: the record after it, and whether the caller must escalate."""

    record: RunRecord
    # True when no supervisor is alive to send SIGKILL after the grace period.
    caller_escalates: bool


def request_stop(
    runs_dir: Path, record: RunRecord, *, grace_s: float = DEFAULT_GRACE_S, kill: bool = False
) -> StopRequest:
    """Ask a queued or running run to stop (SIGTERM, then SIGKILL) or to die now (kill)."""
    if grace_s < 0:
        raise ManagerError(f"the grace period cannot be negative ({grace_s:g} s)")
    if record.status is RunStatus.QUEUED:
        reason = "killed while queued" if kill else "stopped while queued"
        record = cancel_queued(runs_dir, record, reason)
        if record.status is RunStatus.STOPPED:
            return StopRequest(record, caller_escalates=False)
    record = reconcile(record)
    if record.status is not RunStatus.RUNNING:
        raise ManagerError(f"run {record.id} is not running (it is {record.status.value})")

    record = modify_run(record.run_dir, stop_mark(kill=kill, grace_s=grace_s))
    if record.status is not RunStatus.RUNNING:
        return StopRequest(record, caller_escalates=False)
    if kill:
        if recipe_alive(record):
            signal_group(record, signal.SIGKILL)
        return StopRequest(record, caller_escalates=False)
    if supervisor_alive(record) and _signal(
        record.supervisor_pid, record.supervisor_start_ticks, record, signal.SIGTERM
    ):
        return StopRequest(record, caller_escalates=False)
    if recipe_alive(record) and _signal(record.pid, record.start_ticks, record, signal.SIGTERM):
        # The recipe only, as the supervisor does (see supervisor._apply_stop for why).
        return StopRequest(record, caller_escalates=True)
    return StopRequest(reconcile(record), caller_escalates=False)


def stop_mark(*, kill: bool, grace_s: float) -> Callable[[RunRecord], RunRecord | None]:
    """The change to a running record that asks for a stop (or a kill), for `modify_run`:
    written before any signal leaves, whatever the backend. A second stop keeps the first's
    time and grace; a kill always records itself."""

    def mark(cur: RunRecord) -> RunRecord | None:
        if cur.status is not RunStatus.RUNNING:
            return None
        if kill:
            return cur.replace(stop_requested="kill", stop_requested_at=time.time())
        if cur.stop_requested:
            return None
        return cur.replace(
            stop_requested="stop", stop_requested_at=time.time(), stop_grace_s=grace_s
        )

    return mark


def _signal(pid: int | None, ticks: int | None, record: RunRecord, sig: int) -> bool:
    """`sig` to one recorded process, through its identity (pidfd) when ticks are recorded."""
    if pid is None:
        return False
    if ticks is not None:
        return identity.signal_process(pid, ticks, record.boot_id, sig)
    try:  # a record from before start ticks: just checked alive by its create_time
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def wait_until_finished(run_dir: Path, timeout_s: float, poll_s: float = 0.1) -> RunRecord:
    """Poll `run.json` until the run is no longer live or `timeout_s` passes; return it."""
    deadline = time.monotonic() + timeout_s
    while True:
        record = reconcile(read_run(run_dir))
        if not record.is_live or time.monotonic() >= deadline:
            return record
        time.sleep(poll_s)


def stop_and_wait(
    runs_dir: Path,
    record: RunRecord,
    *,
    grace_s: float = DEFAULT_GRACE_S,
    kill: bool = False,
    settle_s: float = SETTLE_S,
) -> RunRecord:
    """Stop or kill a run and return once it has ended and no process of its group is left.

    Raises ManagerError if some process of the group survives SIGKILL (it should not).
    """
    request = request_stop(runs_dir, record, grace_s=grace_s, kill=kill)
    record = request.record
    if record.status is not RunStatus.RUNNING:
        return record
    record = wait_until_finished(record.run_dir, (0.0 if kill else grace_s) + settle_s)
    if record.pgid is not None:
        # Covers a run without supervisor, and a supervisor that died mid-stop. Only while
        # the group is still the run's: its id may lead another program by now.
        survivors = kill_group_and_wait(record)
        if survivors:
            pids = ", ".join(str(p.pid) for p in survivors)
            raise ManagerError(f"run {record.id}: processes {pids} survived SIGKILL")
    if record.is_live:
        record = wait_until_finished(record.run_dir, settle_s)
    return record


def escalate_later(record: RunRecord, grace_s: float) -> None:
    """SIGKILL the group after the grace period when no supervisor is alive to do it."""

    def escalate() -> None:
        # Gated on the recipe's identity: by now its group id may lead another program.
        if recipe_alive(record):
            signal_group(record, signal.SIGKILL)

    timer = threading.Timer(grace_s, escalate)
    timer.daemon = True
    timer.start()
