"""Baseline (c) of `recipe_overhead.py`: the raw loop's work, driven by Lightning's Trainer.

    python bench/_lightning_floor.py SPEC_JSON WORK_DIR TIMELINE_JSON

What Lightning itself costs, with nothing of Lightning's optional machinery switched on:
no logger, no checkpoint callback, no progress bar, no model summary. The work is exactly
the raw loop's (bench/_raw_torch.py): batches indexed from in-memory tensors after a seeded
shuffle, AdamW steps, the training loss appended to metrics.jsonl every
`log_every_n_steps` steps, validation loss and accuracy once an epoch, and one checkpoint
(model and optimizer state) saved with `torch.save` after each epoch — by hand, in hooks.

So `floor/raw` is the price of importing Lightning and running its loop, and `recipe/floor`
is what the recipe adds on top of that price (its config check, run directory, torchmetrics,
TensorBoard files, Lightning checkpoints with the loop state for an exact resume).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytorch_lightning as pl
import torch
from _digits_workload import (
    Timeline,
    build_model,
    load_digits,
    make_optimizer,
    read_spec,
    record_checks,
)
from torch import Tensor, nn


class ShuffledBatches:
    """The raw loop's batches: a seeded permutation per epoch, rows gathered by index."""

    def __init__(self, x: Tensor, y: Tensor, batch: int, seed: int | None) -> None:
        self.x, self.y, self.batch, self.seed = x, y, batch, seed
        self.epoch = 0

    def __len__(self) -> int:
        return (len(self.x) + self.batch - 1) // self.batch

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        if self.seed is None:
            order = torch.arange(len(self.x))
        else:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            order = torch.randperm(len(self.x), generator=generator)
            self.epoch += 1
        for start in range(0, len(order), self.batch):
            index = order[start : start + self.batch]
            yield self.x.index_select(0, index), self.y.index_select(0, index)


class FloorModule(pl.LightningModule):
    def __init__(self, spec: dict[str, Any], work_dir: str, timeline: Timeline) -> None:
        super().__init__()
        self.spec = spec
        self.work_dir = work_dir
        self.timeline = timeline
        self.model = build_model(spec)
        self.loss_fn = nn.CrossEntropyLoss()
        self.every = spec["log_every_n_steps"]
        self.metrics = open(os.path.join(work_dir, "metrics.jsonl"), "a", encoding="utf-8")  # noqa: SIM115
        self.val_loss = 0.0
        self.val_correct = 0

    def write(self, values: dict[str, float]) -> None:
        line = {"time": time.time(), "step": self.global_step, "epoch": self.current_epoch}
        self.metrics.write(json.dumps({**line, "metrics": values}) + "\n")
        self.metrics.flush()

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        loss: Tensor = self.loss_fn(self.model(x), y)
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.global_step % self.every == 0:
            self.write({"train/loss": float(outputs["loss"])})
            self.timeline.metric_logged()

    def on_validation_epoch_start(self) -> None:
        self.val_loss, self.val_correct = 0.0, 0

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        x, y = batch
        outputs = self.model(x)
        self.val_loss += float(self.loss_fn(outputs, y)) * len(y)
        self.val_correct += int((outputs.argmax(1) == y).sum())

    def on_validation_epoch_end(self) -> None:
        count = len(self.spec["val_idx"])
        self.write({"val/loss": self.val_loss / count, "val/acc": self.val_correct / count})
        self.timeline.epoch_ended()

    def on_train_epoch_end(self) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.trainer.optimizers[0].state_dict(),
            "epoch": self.current_epoch,
        }
        torch.save(state, os.path.join(self.work_dir, "last.ckpt"))

    def configure_optimizers(self) -> Any:
        return make_optimizer(self.spec, self.model)


def main(spec_path: str, work_dir: str, timeline_path: str) -> None:
    spec = read_spec(spec_path)
    timeline = Timeline(timeline_path)
    torch.manual_seed(spec["seed"])
    x_train, y_train, x_val, y_val = tensors = load_digits(spec)
    module = FloorModule(spec, work_dir, timeline)
    record_checks(timeline, module.model, tensors)
    trainer = pl.Trainer(
        default_root_dir=work_dir,
        max_epochs=spec["max_epochs"],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(
        module,
        ShuffledBatches(x_train, y_train, spec["batch_size"], spec["seed"]),
        ShuffledBatches(x_val, y_val, spec["val_batch_size"], None),
    )
    module.metrics.close()
    timeline.save()


if __name__ == "__main__":
    main(*sys.argv[1:4])
