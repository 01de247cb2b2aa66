"""Noticing that the UI's terminal went away, so the UI ends with it.

A terminal that closes hangs up: the kernel signals the session leader, and reads of the
terminal return EOF or fail from then on. When the UI is not the session leader (`make run`,
a shell that runs it as a child) and the leader waits for it instead of passing the signal
on (make does), or when its launcher ignores SIGHUP (nohup), the UI gets no signal at all,
and Textual's input thread reads EOF in a loop: the UI stayed alive at 100% of a core,
forever. So the UI also watches its input for a hang-up, an error or a closed descriptor.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Callable

# The exit status of a UI whose terminal went away: that of a process ended by SIGHUP.
TERMINAL_GONE_EXIT = 128 + 1
# How long an orderly exit may take once the terminal is gone before the process just ends
# (Textual's shutdown writes to the terminal, which may block or fail without one).
EXIT_GRACE_S = 10.0

_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL
# Linux's poll reports a terminal's hang-up; macOS's refuses terminals (POLLNVAL at once),
# so there the UI relies on SIGHUP alone, as before.
WATCHABLE = sys.platform.startswith("linux")


def wait_for_hangup(fd: int, stopped: Callable[[], bool], interval_s: float = 0.5) -> bool:
    """Block until `fd` hangs up, fails or is closed (True), or `stopped()` (False); False
    at once where that cannot be watched (`WATCHABLE`).

    No input is read or waited for (the poll asks for no event), only the conditions the
    kernel always reports: this runs beside the reader, never competing with it.
    """
    if not WATCHABLE:
        return False
    poller = select.poll()
    poller.register(fd, 0)
    while not stopped():
        for _fd, events in poller.poll(interval_s * 1000):
            if events & _GONE:
                return True
    return False


def end_process_later(grace_s: float = EXIT_GRACE_S, status: int = TERMINAL_GONE_EXIT) -> None:
    """End the process after `grace_s` unless it has ended by then (a daemon thread)."""

    def end() -> None:
        time.sleep(grace_s)
        os._exit(status)

    threading.Thread(target=end, name="exit after terminal gone", daemon=True).start()
