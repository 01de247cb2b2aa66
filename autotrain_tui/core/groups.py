"""Process groups: signal a run's whole group and check that nothing of it survives.

A run's recipe leads its own process group, and everything it forks — DataLoader workers,
DDP ranks — stays in that group unless it moves itself out (those are not ours to chase).
Signalling the group rather than a pid is what lets stop and kill leave nothing behind.

A recorded group id is only a number: once the run's processes are gone it can be the
group of an unrelated program that was given the same pid. So every signal here goes to a
group only while it is provably the run's: its leader is the recorded process (pid and start
ticks), or no process holds the id at all (`identity.group_is_ours`).
"""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING

from autotrain_tui.core import identity
from autotrain_tui.core.runs import RunRecord, process_matches

if TYPE_CHECKING:  # imported where used: the UI's first frame needs no process table
    import psutil


def group_is_the_runs(record: RunRecord) -> bool:
    """Whether the record's process group can be signalled without hitting a stranger."""
    if record.pgid is None:
        return False
    if record.start_ticks is not None:
        return identity.group_is_ours(record.pgid, record.start_ticks, record.boot_id)
    # A record from before start ticks: the leader by its wall-clock start time.
    if identity.stamp(record.pgid) is None and identity.boot_id() is not None:
        return True
    return process_matches(record.pid, record.create_time) and record.pid == record.pgid


def signal_group(record: RunRecord, sig: int) -> bool:
    """Send `sig` to the run's process group if it is still the run's; True when sent."""
    if record.pgid is None or not group_is_the_runs(record):
        return False
    try:
        os.killpg(record.pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes whose process group is `pgid`."""
    import psutil

    members: list[psutil.Process] = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) != pgid:
                continue
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
        except (ProcessLookupError, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        except (PermissionError, psutil.AccessDenied):
            continue
        members.append(proc)
    return members


def kill_group_and_wait(record: RunRecord, timeout_s: float = 10.0) -> list[psutil.Process]:
    """SIGKILL the run's group, then wait until it is empty; return any survivors.

    A group that is no longer the run's (its id now leads another program) is left alone:
    nothing of the run can be in it, and nothing is returned.
    """
    if record.pgid is None or not signal_group(record, signal.SIGKILL):
        return []
    deadline = time.monotonic() + timeout_s
    while True:
        survivors = group_members(record.pgid)
        if not survivors or time.monotonic() >= deadline:
            return survivors
        # Members can appear between a killpg and the scan (a fork in flight): kill again.
        if not signal_group(record, signal.SIGKILL):
            return []
        time.sleep(0.05)
