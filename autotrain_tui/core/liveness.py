"""Is a run's process alive? Identity by start ticks, never by the wall clock.

A `running` record names its recipe and its supervisor by pid; a pid means that process only
together with its start ticks since boot and the boot id (`identity`), which no clock step
moves. Records written before contract version 2 carry only psutil's `create_time`
(wall-clock) and are checked by it, tightly, as before.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from autotrain_tui.core import identity

if TYPE_CHECKING:
    from autotrain_tui.core.runs import RunRecord

# A launcher writes `running` a few milliseconds before its supervisor records its own pid.
# Within this window a run without any pid is taken as starting, not lost.
STARTING_GRACE_S = 60.0
# Only for records without start ticks (written before contract version 2, or off Linux):
# two reads of psutil's create_time agree far more closely than this unless the clock was
# stepped in between, while a reused pid starts later by at least a tick.
_CREATE_TIME_TOLERANCE_S = 0.005


def process_matches(
    pid: int | None,
    create_time: float | None,
    start_ticks: int | None = None,
    boot_id: str | None = None,
) -> bool:
    """True when `pid` is a live (non-zombie) process that is the one recorded.

    With `start_ticks` (every record since contract version 2) the check is the kernel's
    boot-relative start, which no clock change moves. Without them, psutil's `create_time`
    is compared as before: that one is wall-clock time and moves when the clock is stepped.
    """
    if pid is None:
        return False
    if start_ticks is not None:
        return identity.is_alive(pid, start_ticks, boot_id)
    if create_time is None:
        return False
    import psutil  # here, not at the top: the UI's first frame needs no process table

    try:
        proc = psutil.Process(pid)
        if abs(proc.create_time() - create_time) > _CREATE_TIME_TOLERANCE_S:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def recipe_alive(record: RunRecord) -> bool:
    """The run's recipe process (its group leader) is alive."""
    return process_matches(record.pid, record.create_time, record.start_ticks, record.boot_id)


def supervisor_alive(record: RunRecord) -> bool:
    """The run's supervisor is alive."""
    return process_matches(
        record.supervisor_pid,
        record.supervisor_create_time,
        record.supervisor_start_ticks,
        record.boot_id,
    )


def run_is_alive(record: RunRecord, now: float | None = None) -> bool:
    """Whether a `running` run still has a live recipe or supervisor (or is just starting)."""
    if recipe_alive(record) or supervisor_alive(record):
        return True
    if record.supervisor_pid is None and record.pid is None:
        # Starting: measured on the boot clock where recorded, which no clock step moves.
        boot_now = identity.boot_seconds()
        if record.started_boot_s is not None and boot_now is not None:
            if identity.same_boot(record.boot_id):
                return boot_now - record.started_boot_s < STARTING_GRACE_S
            return False
        now = time.time() if now is None else now
        started = record.started_at or record.created_at or 0.0
        return now - started < STARTING_GRACE_S
    return False
