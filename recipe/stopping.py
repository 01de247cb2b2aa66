"""The stop request: SIGTERM or SIGINT asks the run to stop, as early as the first line.

Installed before torch is even imported, so a stop that arrives while the process is still
starting is honoured too (exit `EXIT_STOPPED`, nothing to save yet). During training the
`GracefulStop` callback turns the request into `trainer.should_stop` at the next batch
boundary, and `train` saves `last.ckpt`. A second signal ends the process at once.

Under SLURM (SLURM_JOB_ID set), SIGUSR1 is the scheduler's warning before a time limit or a
preemption (`#SBATCH --signal=USR1@N`): it asks for a requeue, which stops the same way but
exits `EXIT_REQUEUE`, so the batch script requeues the job and the next attempt resumes from
that checkpoint. A stop wins over a requeue. Outside SLURM, SIGUSR1 keeps its default action.
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
        self.requeue = False  # SIGUSR1 under SLURM: checkpoint, exit EXIT_REQUEUE
        self.signal_name = ""
        self.pruned = False  # the stop is a sweep's pruner's (`prune` command): end `pruned`
        self.pid = os.getpid()

    def install(self) -> None:
        self.pid = os.getpid()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)
        if under_slurm():
            signal.signal(signal.SIGUSR1, self._handle_requeue)

    def _handle_requeue(self, signum: int, frame: Any) -> None:
        # Every process of the job step gets it (DataLoader workers too): only ours counts,
        # and a repeated warning changes nothing.
        if os.getpid() != self.pid or self.requeue:
            return
        self.requeue = True
        print(
            "received SIGUSR1 (SLURM's warning): saving a checkpoint after this batch, "
            "then requeueing",
            file=sys.stderr,
            flush=True,
        )

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self.pid:
            # A forked child that has not replaced this handler yet: a DataLoader worker
            # between its fork and `_worker_init`, which a stop signalled to the whole group
            # can reach. It inherited `requested`, so treating this as a second signal would
            # kill it, and the main process, saving its checkpoint, would fail with
            # "DataLoader worker ... killed by signal: Terminated" instead of stopping.
            return
        if self.requested:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.requested = True
        self.signal_name = signal.Signals(signum).name
        print(
            f"received {self.signal_name}: stopping after this batch", file=sys.stderr, flush=True
        )


def under_slurm() -> bool:
    """Whether this process runs in a SLURM job (its batch script or a step of it)."""
    return bool(os.environ.get("SLURM_JOB_ID"))


STOP = StopRequest()
