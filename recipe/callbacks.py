"""The Lightning callbacks and logger that turn a training run into a run directory.

- `JsonlMetricsLogger`: one JSON line per logging event in metrics.jsonl, flushed at once,
  with progress (step of total), so the UI shows a point within a second of it happening.
- `ConsoleSummary`: one readable line per epoch instead of a progress bar in a log file.
- `GracefulStop`: a SIGTERM/SIGINT (recipe.stopping) stops the loop after the current
  batch; `train` then saves last.ckpt and exits with EXIT_STOPPED (SLURM's SIGUSR1: the
  same, exiting EXIT_REQUEUE).
- `AtomicCheckpointIO`: checkpoints are written to a temp file and renamed into place.
"""

from __future__ import annotations

import json
import time
from argparse import Namespace
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import TensorBoardLogger
from pytorch_lightning.loggers.logger import Logger
from pytorch_lightning.utilities import rank_zero_only

from recipe.io import atomic_link, atomic_write_with
from recipe.stopping import StopRequest


class JsonlMetricsLogger(Logger):
    """Appends `{"time", "step", "epoch", "total_steps", "max_epochs", "metrics"}` lines."""

    def __init__(self, path: str, max_epochs: int) -> None:
        super().__init__()
        self.path = path
        self.max_epochs = max_epochs
        self.total_steps: int | None = None
        self.step_source: Callable[[], int] | None = None
        self._handle: Any = None

    @property
    def name(self) -> str:
        return "jsonl"

    @property
    def version(self) -> str:
        return ""

    def _write(self, record: dict[str, Any]) -> None:
        if self._handle is None:
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        # One write() per line, then flush: readers see whole lines as soon as they exist.
        self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._handle.flush()

    @rank_zero_only
    def log_event(self, event: str, step: int, epoch: int, **fields: Any) -> None:
        self._write(
            {
                "event": event,
                "time": time.time(),
                "step": step,
                "epoch": epoch,
                "total_steps": self.total_steps,
                "max_epochs": self.max_epochs,
                **fields,
            }
        )

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        values = {k: float(v) for k, v in metrics.items() if k != "epoch"}
        epoch = int(metrics.get("epoch", 0))
        # Optimizer steps done, from the trainer itself: Lightning's own `step` argument
        # lags one behind after resuming from a mid-epoch checkpoint.
        if self.step_source is not None:
            step = self.step_source()
        self._write(
            {
                "time": time.time(),
                "step": int(step or 0),
                "epoch": epoch,
                "total_steps": self.total_steps,
                "max_epochs": self.max_epochs,
                "metrics": values,
            }
        )

    @rank_zero_only
    def log_hyperparams(
        self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any
    ) -> None:
        pass  # resolved.yaml holds the whole config

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._handle is not None:
            self._handle.flush()


class ConsoleSummary(pl.Callback):
    """Prints one line per epoch: readable in a terminal and in stdout.log alike.

    The line is printed once all of the epoch's end hooks have run (when the next epoch
    starts, or training ends), so it shows what the LightningModule logs in its own
    `on_train_epoch_end` (`train/loss_epoch`), which Lightning calls after the callbacks'.
    """

    def __init__(self) -> None:
        self._epoch_started = 0.0
        self._ended: tuple[int, int, float] | None = None  # epoch, step, seconds

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # A resumed run may start inside an epoch, without `on_train_epoch_start`: its
        # first epoch is timed from here (it was timed from 0.0, the machine's uptime).
        self._epoch_started = time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._print_ended(trainer)
        self._epoch_started = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        seconds = time.perf_counter() - self._epoch_started
        self._ended = (trainer.current_epoch, trainer.global_step, seconds)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._print_ended(trainer)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._print_ended(trainer)

    def _print_ended(self, trainer: pl.Trainer) -> None:
        if self._ended is None:
            return
        epoch, step, seconds = self._ended
        self._ended = None
        metrics = trainer.callback_metrics
        shown = "  ".join(
            f"{name} {float(value):.4g}"
            for name, value in sorted(metrics.items())
            if name.startswith(("val/", "train/loss_epoch")) and value.numel() == 1
        )
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?"
        print(f"epoch {epoch + 1}/{total}  step {step}  {shown}  ({seconds:.1f} s)", flush=True)


class RecipeCheckpoint(ModelCheckpoint):
    """Lightning's ModelCheckpoint (best.ckpt), plus a last.ckpt that is always current.

    Lightning (2.6) rewrites last.ckpt only in a step where it also saved a top-k
    checkpoint: with a monitor that stops improving, last.ckpt stayed at the last
    improvement (step 23 of 138), so a crash, a kill or a resume to add epochs retrained
    from there. Here last.ckpt is written at the end of every epoch and when training
    ends, whatever the monitor says.

    A graceful stop can freeze it: after a stop has saved the exact mid-epoch state, the
    end-of-epoch saves that Lightning still runs while winding down must not overwrite it
    with a "finished epoch" state, or a resume would skip the rest of the epoch's data.
    """

    frozen = False
    _last_step_written: int | None = None
    _newest_file: tuple[str, int] | None = None  # (path, global step) this callback wrote

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        """Write `filepath`; last.ckpt of the step best.ckpt was just written at becomes a
        hard link to it instead of a second copy (one 134 MB fsynced write less per improving
        epoch for a resnet18 with its optimizer state). The content is the same step; a
        later save of either replaces that name alone (writes are temp file + rename)."""
        newest = self._newest_file
        linked = False
        if (
            newest is not None
            and newest[1] == trainer.global_step
            and newest[0] != filepath
            and filepath == self.last_model_path  # Lightning sets it before saving last
        ):
            if trainer.is_global_zero:
                try:
                    atomic_link(newest[0], filepath)
                    linked = True
                except OSError:
                    linked = False  # no hard links here: write the copy
            linked = bool(trainer.strategy.broadcast(linked))
        if linked:
            trainer.strategy.barrier("RecipeCheckpoint.link")
            # What ModelCheckpoint._save_checkpoint records after a save.
            self._last_global_step_saved = trainer.global_step
            self._last_checkpoint_saved = filepath
        else:
            super()._save_checkpoint(trainer, filepath)
        self._newest_file = (filepath, trainer.global_step)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.frozen:
            return
        super().on_train_epoch_end(trainer, pl_module)
        self._keep_last_current(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.frozen:
            super().on_validation_end(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.frozen:
            return
        super().on_train_end(trainer, pl_module)
        self._keep_last_current(trainer)  # e.g. max_steps reached mid-epoch

    def _save_last_checkpoint(
        self, trainer: pl.Trainer, monitor_candidates: dict[str, torch.Tensor]
    ) -> None:
        super()._save_last_checkpoint(trainer, monitor_candidates)
        self._last_step_written = trainer.global_step

    def _keep_last_current(self, trainer: pl.Trainer) -> None:
        # Every rank gets here with the same step (a save is collective under DDP).
        if trainer.sanity_checking or self._last_step_written == trainer.global_step:
            return
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


class GracefulStop(pl.Callback):
    """Turns a pending stop request into a checkpoint and `trainer.should_stop`.

    At the first batch boundary after SIGTERM/SIGINT it saves `last_path` with the loop's
    exact position (a resume continues mid-epoch, with the same step count), freezes the
    other checkpoint saves, and asks Lightning to stop. The signal handlers are reinstalled
    when training starts, replacing Lightning's own SIGTERM handler, which would raise out
    of the loop before anything is saved.
    """

    def __init__(self, request: StopRequest, last_path: str, checkpoint: RecipeCheckpoint) -> None:
        self.request = request
        self.last_path = last_path
        self.checkpoint = checkpoint
        self.saved = False
        # "stopped", "pruned" or "requeued", the same on every rank (a prune command is
        # applied by every rank at the same step).
        self.outcome: str | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.request.install()
        self._maybe_stop(trainer)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        self._maybe_stop(trainer)

    def _maybe_stop(self, trainer: pl.Trainer) -> None:
        # With DDP every rank must agree, or one rank waits forever for the others; and on
        # why (a stop on any rank wins over a requeue), since each rank reports its outcome.
        strategy = trainer.strategy
        request = self.request
        if self.saved or not strategy.reduce_boolean_decision(
            request.requested or request.requeue, all=False
        ):
            return
        stopped = strategy.reduce_boolean_decision(request.requested, all=False)
        if stopped:
            self.outcome = "pruned" if request.pruned else "stopped"
        else:
            self.outcome = "requeued"
        trainer.save_checkpoint(self.last_path, weights_only=False)  # all of it: exact resume
        self.saved = True
        self.checkpoint.frozen = True
        trainer.should_stop = True


class ThrottledTensorBoardLogger(TensorBoardLogger):
    """TensorBoard event files, flushed at most once a second.

    Lightning calls `save()` after every logging event; for TensorBoard that is a file
    flush each time. TensorBoard itself reloads every few seconds, so once a second loses
    nothing a user can see (metrics.jsonl is the live, flushed-at-once record).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_save = 0.0

    @rank_zero_only
    def save(self) -> None:
        now = time.monotonic()
        if now - self._last_save >= 1.0:
            self._last_save = now
            super().save()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        super().save()
        super().finalize(status)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Saves through a temp file and a rename, so a reader never loads half a checkpoint,
    streaming into that file (`recipe.io.atomic_write_with`)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        # torch writes the zip archive record by record into the open file: the file is
        # never held in memory whole (an 813 MB checkpoint cost +457 MB peak RSS that way).
        atomic_write_with(str(path), lambda handle: torch.save(checkpoint, handle))
