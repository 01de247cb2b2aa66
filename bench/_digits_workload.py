"""The workload the two baselines of `recipe_overhead.py` train, written the way a user would.

`bench/_reference.py` derives a *spec* (model sizes, batch size, epochs, optimizer, the
train/validation split) from the real config through the recipe, once and untimed; the
baselines read it, so they cannot drift from the config. Everything else here is plain
code a user writes by hand: read the digits file, index the split, standardise with
training statistics, build the model from `nn` layers. Each baseline reports the
parameter count and data checksums, and the benchmark checks them against the recipe's.

Both baselines are scripts run as fresh processes; they import this module from their
own directory (a script's directory is first on `sys.path`).
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn


class Timeline:
    """What a baseline process reports: wall-clock times of its events, and its checks."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.first_metric: float | None = None
        self.epoch_ends: list[float] = []
        self.checks: dict[str, Any] = {"threads": torch.get_num_threads()}

    def metric_logged(self) -> None:
        if self.first_metric is None:
            self.first_metric = time.time()

    def epoch_ended(self) -> None:
        self.epoch_ends.append(time.time())

    def save(self) -> None:
        record = {"first_metric": self.first_metric, "epoch_ends": self.epoch_ends, **self.checks}
        Path(self.path).write_text(json.dumps(record), encoding="utf-8")


def read_spec(path: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return spec


def load_digits(
    spec: dict[str, Any],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train and validation tensors `(x_train, y_train, x_val, y_val)`, standardised.

    Reads scikit-learn's bundled digits file directly (as the recipe does, without
    importing scikit-learn) and standardises with the training split's statistics: per
    pixel for the 64 features, one mean and std for the single image channel.
    """
    found = importlib.util.find_spec("sklearn")
    locations = list(found.submodule_search_locations or []) if found else []
    table = np.loadtxt(
        Path(locations[0]) / "datasets" / "data" / "digits.csv.gz", delimiter=",", dtype=np.float32
    )
    x, y = table[:, :-1], table[:, -1].astype(np.int64)
    train_idx, val_idx = np.asarray(spec["train_idx"]), np.asarray(spec["val_idx"])
    x_train, x_val = x[train_idx].astype(np.float64), x[val_idx].astype(np.float64)
    if spec["as_image"]:
        mean, std = x_train.mean(), x_train.std()
    else:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)  # constant pixels map to 0
    mean, std = np.float32(mean), np.float32(std)
    shape = (-1, 1, 8, 8) if spec["as_image"] else (-1, 64)

    def standardise(values: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((values.astype(np.float32) - mean) / std).reshape(shape))

    return (
        standardise(x_train),
        torch.from_numpy(y[train_idx]),
        standardise(x_val),
        torch.from_numpy(y[val_idx]),
    )


def build_model(spec: dict[str, Any]) -> nn.Module:
    """The config's model, spelled out in layers: the MLP or the small CNN."""
    args = spec["model"]
    if spec["kind"] == "mlp":
        layers: list[nn.Module] = [nn.Flatten()]
        width = 64
        for size in args["hidden"]:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(args["dropout"])]
            width = size
        return nn.Sequential(*layers, nn.Linear(width, 10))
    layers, channels = [], 1
    for out in args["channels"]:
        layers += [
            nn.Conv2d(channels, out, 3, padding=1, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(args["dropout"])]
    return nn.Sequential(*layers, nn.Linear(channels, 10))


def make_optimizer(spec: dict[str, Any], model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), **spec["optimizer"])


def checksum(x: torch.Tensor, y: torch.Tensor) -> float:
    """Order-sensitive: a different split, order or normalisation gives another number."""
    weights = torch.arange(1, len(x) + 1, dtype=torch.float64)
    return float((x.double().flatten(1).sum(1) * weights).sum() + (y.double() * weights).sum())


def record_checks(timeline: Timeline, model: nn.Module, tensors: tuple[torch.Tensor, ...]) -> None:
    """What the benchmark compares with the recipe's: same model size, same data."""
    x_train, y_train, x_val, y_val = tensors
    timeline.checks["params"] = sum(p.numel() for p in model.parameters())
    timeline.checks["train_sum"] = checksum(x_train, y_train)
    timeline.checks["val_sum"] = checksum(x_val, y_val)
