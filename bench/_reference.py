"""Derive the baselines' spec from a real config, through the recipe (run once, untimed).

    python bench/_reference.py CONFIG [key=value ...] > spec.json

Validates the config as `recipe train` would, builds its dataset and model with the
recipe's own code, and prints what the baselines need to do the same work (sizes,
batch size, epochs, optimizer, the exact split) plus what they must reproduce: the
model's parameter count and checksums of the standardised train and validation inputs.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from _digits_workload import checksum

from recipe.data import split_indices
from recipe.data.sklearn_datasets import _read_digits
from recipe.registry import instantiate
from recipe.train import validate


def derive_spec(config_path: str, overrides: list[str]) -> dict[str, Any]:
    cfg = validate(config_path, overrides).data
    data, model, optimizer = cfg["data"], cfg["model"], cfg["optimizer"]
    trainer, loader = cfg["trainer"], cfg["dataloader"]
    if data["_target_"] != "digits" or data.get("augment"):
        raise SystemExit("the benchmark trains digits without augmentation (data.augment=null)")
    if optimizer["_target_"] != "adamw" or cfg["scheduler"]:
        raise SystemExit("the benchmark's baselines use AdamW and no scheduler (scheduler=null)")
    seed = int(cfg["project"]["seed"])
    bundle = instantiate(data, "data", seed=seed)
    network = instantiate(
        model, "model", input_shape=bundle.input_shape, num_outputs=bundle.num_outputs
    )
    _, labels = _read_digits()
    train_idx, val_idx = split_indices(
        len(labels), val_fraction=data.get("val_fraction", 0.2), seed=seed, labels=labels
    )
    kind = {"mlp": "mlp", "cnn": "cnn"}[model["_target_"]]
    return {
        "kind": kind,
        "as_image": bool(data.get("as_image", False)),
        "model": {k: v for k, v in model.items() if k != "_target_"},
        "optimizer": {k: v for k, v in optimizer.items() if k != "_target_"},
        "batch_size": loader["batch_size"],
        "val_batch_size": loader["val_batch_size"] or loader["batch_size"],
        "max_epochs": trainer["max_epochs"],
        "log_every_n_steps": trainer["log_every_n_steps"],
        "seed": seed,
        "train_idx": [int(i) for i in train_idx],
        "val_idx": [int(i) for i in val_idx],
        "expect": {
            "params": sum(p.numel() for p in network.parameters()),
            "train_sum": checksum(*bundle.train.tensors),
            "val_sum": checksum(*bundle.val.tensors),
        },
    }


if __name__ == "__main__":
    print(json.dumps(derive_spec(sys.argv[1], sys.argv[2:])))
