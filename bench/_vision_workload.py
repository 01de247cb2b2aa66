"""The measured processes of `vision_throughput.py`, one mode per fresh process.

    python bench/_vision_workload.py spec CONFIG OUT_JSON
    python bench/_vision_workload.py plain SPEC_JSON WORK_DIR TIMELINE_JSON
    python bench/_vision_workload.py pipeline SPEC_JSON CONFIG OUT_JSON
    python bench/_vision_workload.py step SPEC_JSON OUT_JSON

- spec: what the baselines must match, read through the recipe's own code from the config
  (image counts, classes, the normalisation the recipe applies, the model's size);
- plain: the hand-written torchvision loop: `datasets.ImageFolder` + transforms v2 (decode,
  resize, to a float tensor, normalise), a seeded shuffling DataLoader, the torchvision
  model, AdamW as a user writes it; each epoch trains, logs the loss every
  `log_every_n_steps` steps (a flushed JSON line, as the recipe does), validates and saves
  a checkpoint (model and optimizer), as the recipe does every epoch;
- pipeline: the input pipeline alone: the recipe's train loader, built by the recipe from
  the config, and the plain loop's, each iterated for several epochs without a model;
- step: the training step alone, on batches loaded into memory beforehand (forward,
  backward, AdamW fused as the recipe makes it on CPU and CUDA).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

import torch
from torch import nn

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def derive_spec(config_path: str) -> dict[str, Any]:
    from recipe.config.data_values import fill_config
    from recipe.registry import data_injections, instantiate
    from recipe.train import validate

    cfg = validate(config_path, []).data
    bundle = instantiate(cfg["data"], "data", **data_injections(cfg))
    info = {
        "task": bundle.task,
        "input_shape": list(bundle.input_shape),
        "num_outputs": bundle.num_outputs,
        "class_names": bundle.class_names,
    }
    cfg = fill_config(cfg, info)
    model = instantiate(
        cfg["model"], "model", input_shape=bundle.input_shape, num_outputs=bundle.num_outputs
    )
    preprocess = bundle.preprocess or {}
    data, loader, trainer = cfg["data"], cfg["dataloader"], cfg["trainer"]
    return {
        "train_path": data["path"],
        "val_path": data["val_path"],
        "size": list(bundle.input_shape[1:]),
        "mean": preprocess.get("mean") or IMAGENET[0],
        "std": preprocess.get("std") or IMAGENET[1],
        "model": cfg["model"]["_target_"],
        "model_args": {k: v for k, v in cfg["model"].items() if k != "_target_"},
        "lr": cfg["optimizer"]["lr"],
        "batch_size": loader["batch_size"],
        "num_workers": loader["num_workers"],
        "max_epochs": trainer["max_epochs"],
        "log_every_n_steps": trainer["log_every_n_steps"],
        "seed": int(cfg["project"]["seed"]),
        "train_images": len(bundle.train),
        "val_images": len(bundle.val),
        "class_names": bundle.class_names,
        "params": sum(p.numel() for p in model.parameters()),
    }


def build_model(spec: dict[str, Any]) -> nn.Module:
    import torchvision

    name = spec["model"].removeprefix("torchvision.models.")
    model: nn.Module = getattr(torchvision.models, name)(**spec["model_args"])
    if sum(p.numel() for p in model.parameters()) != spec["params"]:
        raise SystemExit(f"the plain {name} differs from the recipe's model")
    return model


def plain_loader(spec: dict[str, Any], path: str, shuffle: bool) -> Any:
    from torchvision import datasets
    from torchvision.transforms import v2

    transform = v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(spec["size"], antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(spec["mean"], spec["std"]),
        ]
    )
    dataset = datasets.ImageFolder(path, transform=transform)
    if dataset.classes != spec["class_names"]:
        raise SystemExit(f"{path}: classes {dataset.classes} differ from the recipe's")
    workers = spec["num_workers"]
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=spec["batch_size"],
        shuffle=shuffle,
        num_workers=workers,
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(spec["seed"]),
    )


def plain(spec: dict[str, Any], work_dir: str, timeline_path: str) -> None:
    torch.manual_seed(spec["seed"])
    train, val = (
        plain_loader(spec, spec["train_path"], True),
        plain_loader(spec, spec["val_path"], False),
    )
    model = build_model(spec)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec["lr"])
    loss_fn = nn.CrossEntropyLoss()
    metrics = open(os.path.join(work_dir, "metrics.jsonl"), "a", encoding="utf-8")  # noqa: SIM115
    timeline: dict[str, Any] = {"first_metric": None, "epoch_ends": [], "seen": 0}

    def write(step: int, epoch: int, values: dict[str, float]) -> None:
        line = {"time": time.time(), "step": step, "epoch": epoch, "metrics": values}
        metrics.write(json.dumps(line) + "\n")
        metrics.flush()

    step = 0
    for epoch in range(spec["max_epochs"]):
        model.train()
        for x, y in train:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            timeline["seen"] += len(x)
            if step % spec["log_every_n_steps"] == 0:
                write(step, epoch, {"train/loss": loss.item()})
                timeline["first_metric"] = timeline["first_metric"] or time.time()
        model.eval()
        total_loss, correct, count = 0.0, 0, 0
        with torch.no_grad():
            for x, y in val:
                outputs = model(x)
                total_loss += loss_fn(outputs, y).item() * len(y)
                correct += int((outputs.argmax(1) == y).sum())
                count += len(y)
        write(step, epoch, {"val/loss": total_loss / count, "val/acc": correct / count})
        timeline["epoch_ends"].append(time.time())
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
        torch.save(state, os.path.join(work_dir, "last.ckpt"))
    metrics.close()
    with open(timeline_path, "w", encoding="utf-8") as handle:
        json.dump(timeline, handle)


def _epoch_seconds(loader: Any, epochs: int) -> list[float]:
    """Seconds per pass over `loader`, after one warm-up pass (workers start, caches fill)."""
    seconds = []
    for _ in range(epochs + 1):
        started = time.perf_counter()
        for _batch in loader:
            pass
        seconds.append(time.perf_counter() - started)
    return seconds[1:]


def pipeline(spec: dict[str, Any], config_path: str, out_path: str) -> None:
    from recipe.data import make_loader
    from recipe.registry import data_injections, instantiate
    from recipe.train import validate

    started = time.perf_counter()  # the check builds the data (and keeps it for training)
    cfg = validate(config_path, []).data
    bundle = instantiate(cfg["data"], "data", **data_injections(cfg))
    build = time.perf_counter() - started
    loader_cfg = cfg["dataloader"]
    recipe_loader = make_loader(
        bundle.train,
        batch_size=loader_cfg["batch_size"],
        shuffle=True,
        num_workers=loader_cfg["num_workers"],
        seed=spec["seed"],
    )
    epochs = 3
    result = {
        "recipe_build_s": build,  # config check and data build
        "recipe_epoch_s": statistics.median(_epoch_seconds(recipe_loader, epochs)),
        "plain_epoch_s": statistics.median(
            _epoch_seconds(plain_loader(spec, spec["train_path"], True), epochs)
        ),
    }
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


def step(spec: dict[str, Any], out_path: str) -> None:
    torch.manual_seed(spec["seed"])
    batches = list(plain_loader(spec, spec["train_path"], True))  # pre-loaded, then reused
    model = build_model(spec).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec["lr"], fused=True)
    loss_fn = nn.CrossEntropyLoss()
    seconds = []
    for index, (x, y) in enumerate(batches * 2):
        started = time.perf_counter()
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()
        if index >= 2:  # the first steps allocate and warm up
            seconds.append((time.perf_counter() - started) / len(x))
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump({"step_s_per_image": statistics.median(seconds)}, handle)


def main(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "spec":
        config, out = args
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(derive_spec(config), handle)
        return
    with open(args[0], encoding="utf-8") as handle:
        spec = json.load(handle)
    if mode == "plain":
        plain(spec, args[1], args[2])
    elif mode == "pipeline":
        pipeline(spec, args[1], args[2])
    elif mode == "step":
        step(spec, args[1])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
