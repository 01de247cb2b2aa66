"""Baseline (b) of `recipe_overhead.py`: the config's training as a plain Lightning script.

    python bench/_plain_lightning.py SPEC_JSON WORK_DIR TIMELINE_JSON

Written the way most users write one: a `DataLoader` over a `TensorDataset`
(`shuffle=True`), a `LightningModule` that logs `train_loss` every step and `val_loss`
and `val_acc` (torchmetrics) every epoch, and a `Trainer` with its defaults: the
default logger (TensorBoardLogger, tensorboard being installed) and the default
`ModelCheckpoint` (saves a checkpoint after every epoch). Only what makes it do the
recipe's work is set: `max_epochs`, `log_every_n_steps`, and, as the recipe runs
when its output is not a terminal, no progress bar, no model summary and no sanity
validation steps — each of which would only add work here.

A small callback records when the first training loss reaches the logger and when
each epoch's validation metrics are logged (the benchmark's timeline).
"""

from __future__ import annotations

import sys
from typing import Any

import pytorch_lightning as pl
import torch
import torchmetrics
from _digits_workload import (
    Timeline,
    build_model,
    load_digits,
    make_optimizer,
    read_spec,
    record_checks,
)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class DigitsClassifier(pl.LightningModule):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec
        self.model = build_model(spec)
        self.loss_fn = nn.CrossEntropyLoss()
        self.val_acc = torchmetrics.classification.MulticlassAccuracy(
            num_classes=10, average="micro"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> Any:
        x, y = batch
        loss = self.loss_fn(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        outputs = self(x)
        self.log("val_loss", self.loss_fn(outputs, y))
        self.val_acc(outputs, y)
        self.log("val_acc", self.val_acc)

    def configure_optimizers(self) -> Any:
        return make_optimizer(self.spec, self.model)


class TimelineCallback(pl.Callback):
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.timeline.first_metric is None and "train_loss" in trainer.logged_metrics:
            self.timeline.metric_logged()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.timeline.epoch_ended()


def main(spec_path: str, work_dir: str, timeline_path: str) -> None:
    spec = read_spec(spec_path)
    timeline = Timeline(timeline_path)
    pl.seed_everything(spec["seed"])
    x_train, y_train, x_val, y_val = tensors = load_digits(spec)
    train_loader = DataLoader(
        TensorDataset(x_train, y_train), batch_size=spec["batch_size"], shuffle=True
    )
    val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=spec["val_batch_size"])
    module = DigitsClassifier(spec)
    record_checks(timeline, module.model, tensors)
    trainer = pl.Trainer(
        default_root_dir=work_dir,
        max_epochs=spec["max_epochs"],
        log_every_n_steps=spec["log_every_n_steps"],
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[TimelineCallback(timeline)],
    )
    trainer.fit(module, train_loader, val_loader)
    timeline.save()


if __name__ == "__main__":
    main(*sys.argv[1:4])
