"""Baseline (c) of `recipe_overhead.py`: the config's training as a raw PyTorch loop.

    python bench/_raw_torch.py SPEC_JSON WORK_DIR TIMELINE_JSON

No Lightning. Each epoch: a seeded shuffle, batches gathered by indexing the in-memory
tensors, AdamW steps; the training loss appended to metrics.jsonl every
`log_every_n_steps` steps (one flushed line each, as the recipe does); then validation
(loss and accuracy) appended likewise, and a checkpoint (model and optimizer state)
saved, as both Lightning variants save one every epoch.
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch
from _digits_workload import (
    Timeline,
    build_model,
    load_digits,
    make_optimizer,
    read_spec,
    record_checks,
)
from torch import nn


def main(spec_path: str, work_dir: str, timeline_path: str) -> None:
    spec = read_spec(spec_path)
    timeline = Timeline(timeline_path)
    torch.manual_seed(spec["seed"])
    x_train, y_train, x_val, y_val = tensors = load_digits(spec)
    model = build_model(spec)
    optimizer = make_optimizer(spec, model)
    loss_fn = nn.CrossEntropyLoss()
    record_checks(timeline, model, tensors)
    batch, val_batch, every = spec["batch_size"], spec["val_batch_size"], spec["log_every_n_steps"]
    metrics = open(os.path.join(work_dir, "metrics.jsonl"), "a", encoding="utf-8")  # noqa: SIM115

    def write(step: int, epoch: int, values: dict[str, float]) -> None:
        line = {"time": time.time(), "step": step, "epoch": epoch, "metrics": values}
        metrics.write(json.dumps(line) + "\n")
        metrics.flush()

    step = 0
    for epoch in range(spec["max_epochs"]):
        model.train()
        generator = torch.Generator().manual_seed(spec["seed"] + epoch)
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), batch):
            index = order[start : start + batch]
            loss = loss_fn(model(x_train.index_select(0, index)), y_train.index_select(0, index))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if step % every == 0:
                write(step, epoch, {"train/loss": loss.item()})
                timeline.metric_logged()
        model.eval()
        total_loss, correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, len(x_val), val_batch):
                outputs = model(x_val[start : start + val_batch])
                targets = y_val[start : start + val_batch]
                total_loss += loss_fn(outputs, targets).item() * len(targets)
                correct += int((outputs.argmax(1) == targets).sum())
        write(step, epoch, {"val/loss": total_loss / len(x_val), "val/acc": correct / len(x_val)})
        timeline.epoch_ended()
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
        torch.save(state, os.path.join(work_dir, "last.ckpt"))
    metrics.close()
    timeline.save()


if __name__ == "__main__":
    main(*sys.argv[1:4])
