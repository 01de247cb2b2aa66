"""The stop request: SIGTERM or SIGINT asks the run to stop, as early as the first line.

Installed before torch is even imported, so a stop that arrives while the process is still
starting is honoured too (exit `EXIT_STOPPED`, nothing to save yet). During training the
`GracefulStop` callback turns the request into `trainer.should_stop` at the next batch
boundary, and `train` saves `last.ckpt`. A second signal ends the process at once.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


class StopRequest:
    """Records the first SIGTERM/SIGINT; re-raises the second with the default action."""

    def __init__(self) -> None:
        self.requested = False
        self.signal_name = ""

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.requested = True
        self.signal_name = signal.Signals(signum).name
        print(
            f"received {self.signal_name}: stopping after this batch", file=sys.stderr, flush=True
        )


STOP = StopRequest()
