"""Process identity that no clock change can move: a pid, its start ticks, the boot it ran in.

Pids are reused, so a recorded pid means our process only together with something that tells
two processes with that pid apart. psutil's `create_time()` is the start expressed in wall-clock
time (the kernel's boot-relative start ticks plus the boot time, which moves whenever the clock
is stepped): one NTP step of a second made a live run look like a stranger. The start ticks
themselves (field 22 of `/proc/PID/stat`, clock ticks since boot) never change, and the kernel's
boot id tells one boot from the next, so `pid + start_ticks + boot_id` names one process for
good. Where `/proc` is missing (not Linux) the ticks are None and callers fall back to
`create_time` with a tight tolerance, as before.

Signals to one process go through here, gated on that identity by pidfd (the identity is
checked on the very process the signal then reaches, so a pid reused in between is never hit);
a process group is signalled only while `group_is_ours` (see groups.py).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
from dataclasses import dataclass

_PROC = "/proc"
_BOOT_ID = "/proc/sys/kernel/random/boot_id"


@dataclass(frozen=True)
class ProcessStamp:
    """What `/proc/PID/stat` says of a process: its state letter and its start ticks."""

    pid: int
    state: str
    start_ticks: int

    @property
    def is_zombie(self) -> bool:
        return self.state in ("Z", "X", "x")


@functools.cache
def boot_id() -> str | None:
    """This boot's id (the same for every process until the machine restarts), or None."""
    try:
        with open(_BOOT_ID, encoding="ascii") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def boot_seconds() -> float | None:
    """Seconds since boot (CLOCK_BOOTTIME): the same for every process, and no clock step
    (NTP, `date -s`) moves it. None where there is no such clock."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return None


def stamp(pid: int) -> ProcessStamp | None:
    """The state and start ticks of `pid` from `/proc/PID/stat`; None when there is none."""
    if pid <= 0:
        return None
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')': split after
    # the last ')'. What follows starts at field 3 (state); field 22 (starttime) is 19 later.
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        return ProcessStamp(pid, fields[0].decode("ascii"), int(fields[19]))
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def start_ticks(pid: int) -> int | None:
    """The boot-relative start of `pid` in clock ticks, or None (gone, or no /proc)."""
    found = stamp(pid)
    return found.start_ticks if found is not None else None


def same_boot(recorded_boot_id: str | None) -> bool:
    """False only when the record names another boot than this one (the machine restarted)."""
    return recorded_boot_id is None or boot_id() is None or recorded_boot_id == boot_id()


def is_alive(pid: int | None, ticks: int | None, recorded_boot_id: str | None = None) -> bool:
    """`pid` is a live, non-zombie process that started at `ticks` in the recorded boot."""
    if pid is None or ticks is None or not same_boot(recorded_boot_id):
        return False
    found = stamp(pid)
    return found is not None and found.start_ticks == ticks and not found.is_zombie


def group_is_ours(pgid: int, leader_ticks: int | None, recorded_boot_id: str | None) -> bool:
    """Whether signalling process group `pgid` can reach only the run's own processes.

    The kernel keeps a pid allocated while any process still uses it as its process group
    id, so no new process can be given `pgid` while a member of the run's group is alive.
    Hence: when a process holds the id, it is the group's leader and the group is ours
    exactly when that leader has the recorded start ticks (a zombie leader not yet reaped
    still has them); when no process holds it, group `pgid` holds at most our own leftovers
    (or nobody). Another boot, or no recorded ticks to compare, is never ours.
    """
    if leader_ticks is None or not same_boot(recorded_boot_id):
        return False
    holder = stamp(pgid)
    return holder is None or holder.start_ticks == leader_ticks


def signal_process(pid: int, ticks: int | None, recorded_boot_id: str | None, sig: int) -> bool:
    """Send `sig` to `pid` only if it is the recorded process; True when sent.

    The identity is checked after opening a pidfd and the signal goes through that pidfd, so
    even a pid that is freed and reused between the check and the send is never signalled.
    """
    if ticks is None or not same_boot(recorded_boot_id):
        return False
    try:
        fd = os.pidfd_open(pid)
    except (ProcessLookupError, PermissionError):
        return False
    except (AttributeError, OSError):  # no pidfd (old kernel): check, then send
        if not is_alive(pid, ticks, recorded_boot_id):
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            return True
        return False
    try:
        if not is_alive(pid, ticks, recorded_boot_id):
            return False
        signal.pidfd_send_signal(fd, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False
    finally:
        os.close(fd)
