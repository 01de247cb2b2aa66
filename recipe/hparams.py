"""TensorBoard's HParams for a run of a sweep: its params and the best value it reached.

`tensorboard --logdir runs` then shows a sweep in the HParams tab: one row per run, its
params as columns, the best monitored value beside them. The params are what the manager
recorded in the run's `run.json` when it launched the run (docs/run-directory.md): a search
trial's `trial.params`, else a grid point's `overrides`. A run that is not part of a sweep
writes none. Written once, when fitting ends (completed, stopped or pruned alike), under
the tag `best/<monitor>` at step 0.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import TensorBoardLogger

RUN_JSON = "run.json"  # written by the manager (autotrain_tui), read here as plain JSON


def sweep_params(run_dir: str) -> dict[str, Any] | None:
    """The params of the run's sweep point (numbers as numbers), or None outside a sweep."""
    try:
        with open(os.path.join(run_dir, RUN_JSON)) as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None  # a run started by hand: no manager, no sweep
    if not isinstance(record, dict) or not record.get("sweep"):
        return None
    trial = record.get("trial")
    if isinstance(trial, dict) and isinstance(trial.get("params"), dict):
        pairs = [(str(k), v) for k, v in trial["params"].items()]
    else:
        overrides = record.get("overrides") or []
        split = (str(o).partition("=") for o in overrides)
        pairs = [(k.strip(), v) for k, sep, v in split if sep]
    return {key: _value(value) for key, value in pairs}


def _value(value: Any) -> bool | int | float | str:
    """What HParams can show: a number stays a number (so it can sort and plot it)."""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


class SweepHParams(pl.Callback):
    """Logs the run's sweep params with `best/<monitor>` to the TensorBoard logger."""

    def __init__(self, run_dir: str, checkpoint: ModelCheckpoint) -> None:
        self.params = sweep_params(run_dir)
        self.checkpoint = checkpoint

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        best = self.checkpoint.best_model_score
        if not self.params or best is None or not trainer.is_global_zero:
            return
        metric = f"best/{self.checkpoint.monitor}"
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.log_hyperparams(self.params, {metric: float(best)})
