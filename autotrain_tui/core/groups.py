"""Process groups: signal a run's whole group and check that nothing of it survives.

A run's recipe leads its own process group, and everything it forks — DataLoader workers,
DDP ranks — stays in that group unless it moves itself out (those are not ours to chase).
Signalling the group rather than a pid is what lets stop and kill leave nothing behind.
"""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the UI's first frame needs no process table
    import psutil


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to every process of group `pgid`; False when the group is already empty."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
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


def kill_group_and_wait(pgid: int, timeout_s: float = 10.0) -> list[psutil.Process]:
    """SIGKILL the group, then wait until it is empty; return any survivors."""
    signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while True:
        survivors = group_members(pgid)
        if not survivors or time.monotonic() >= deadline:
            return survivors
        # Members can appear between a killpg and the scan (a fork in flight): kill again.
        signal_group(pgid, signal.SIGKILL)
        time.sleep(0.05)
