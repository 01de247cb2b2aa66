"""What Lightning and torch print that says nothing about the run, kept out of stdout.log.

A run's log is read by people (the UI's log pane, `autotrain-tui logs`): every line in it
should be about this run. Filtered by message, so a new Lightning release that rewords a tip
only lets it through again, and nothing else is hidden.
"""

from __future__ import annotations

import logging
import warnings


class _DropLightningTips(logging.Filter):
    """Keeps stdout.log about this run: no product tips, no 'configured so 100%' notes, no
    'TPU available: False' on machines without one (the GPU line stays: it says whether
    the run uses the GPU), and none of the learning-rate finder's own bookkeeping (its
    temporary checkpoint, restored; the recipe prints one line about the sweep itself)."""

    _NOISE = (
        "was configured so 100%",
        ".lr_find_",
        "LR finder stopped early",
        "`weights_only` was not set",
        "Loading `train_dataloader` to estimate number of stepping batches",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        no_tpu = message.startswith("TPU available: False")
        noise = any(part in message for part in self._NOISE)
        return not (message.startswith("💡") or no_tpu or noise)


def silence_known_noise() -> None:
    """Filter what Lightning prints that says nothing about this run (once per process)."""
    for name in ("pytorch_lightning", "lightning_fabric"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(_DropLightningTips())
    # The in-memory loader needs no workers; Lightning's advice about them is noise here.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*is smaller than the logging interval.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*weights_only.*was not set.*")
    # Two notes that opened every log: the SLURM hint (the recipe is launched by its own
    # launcher, srun or not) and "checkpoint directory exists" (resume writes into it).
    warnings.filterwarnings("ignore", ".*The `srun` command is available on your system.*")
    warnings.filterwarnings("ignore", ".*Checkpoint directory .* exists and is not empty.*")
