"""`python -m recipe train`: one config in, one run directory out.

Read top to bottom, this is the whole pipeline: validate everything first (so a typo never
costs a training run), lay out the run directory, build data / module / trainer from the
config, fit, and leave a checkpoint however the run ends.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any

from recipe import EXIT_CONFIG_ERROR, EXIT_FAILED, EXIT_OK, EXIT_STOPPED
from recipe.config import ConfigError, Position, Problem, ValidatedConfig, load_config
from recipe.config.overrides import apply_overrides_to_text
from recipe.io import atomic_write_json, atomic_write_text
from recipe.registry import check_references
from recipe.stopping import STOP

CONFIG_FILE = "config.yaml"
RESOLVED_FILE = "resolved.yaml"
METRICS_FILE = "metrics.jsonl"
PREDICT_FILE = "predict.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
BEST_CHECKPOINT = "best.ckpt"


@dataclass
class TrainRequest:
    """What the command line asked for."""

    config_path: str | None
    overrides: list[str]
    run_dir: str | None = None
    resume: str | None = None


def print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s) found; nothing was trained.", file=sys.stderr)


def validate(config_path: str, overrides: list[str]) -> ValidatedConfig:
    """The quick check plus the full reference check; raises ConfigError with everything.

    When the quick check already failed, the full check still runs on what could be read,
    so one run reports every problem (a place already reported is not reported twice).
    """
    try:
        config = load_config(config_path, overrides)
    except ConfigError as quick:
        if quick.partial is None:
            raise
        try:
            check_references(quick.partial)
        except ConfigError as full:
            seen = {p.position for p in quick.problems}
            more = [p for p in full.problems if p.position not in seen]
            raise ConfigError([*quick.problems, *more]) from None
        raise
    check_references(config)
    return config


def check_grid(config_path: str, overrides: list[str], grid_json: str) -> int:
    """Validate every point of a sweep in one process (custom.py and torch load once).

    A problem common to all points (one in the config file) is printed once; a problem of
    one point names it, so the user knows which value to fix.
    """
    import json

    try:
        points = json.loads(grid_json)
        if not isinstance(points, list) or not all(
            isinstance(p, list) and all(isinstance(o, str) for o in p) for p in points
        ):
            raise ValueError("expected a list of lists of strings")
    except ValueError as exc:
        print(f"--grid: not a JSON list of override lists ({exc})", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    # problem text -> the points it occurs in (a dict keeps first-seen order)
    found: dict[str, list[int]] = {}
    for index, point in enumerate(points, start=1):
        try:
            validate(config_path, [*overrides, *point])
        except ConfigError as exc:
            for problem in exc.problems:
                found.setdefault(str(problem), []).append(index)
    for line, where in found.items():
        if len(where) < len(points):  # not common to every point: say which ones
            named = ", ".join(str(i) for i in where[:10]) + (" …" if len(where) > 10 else "")
            example = " ".join(points[where[0] - 1])
            line += f" (sweep point{'s' if len(where) > 1 else ''} {named}; e.g. {example})"
        print(line, file=sys.stderr)
    if found:
        print(f"{len(found)} problem(s) found in {len(points)} point(s).", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    return EXIT_OK


def new_run_dir(config: ValidatedConfig) -> str:
    """`<output_dir>/<name>-<YYYYmmdd-HHMMSS>-<4 hex>`: sortable, readable, unique."""
    project = config.data["project"]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_id = f"{project['name']}-{stamp}-{secrets.token_hex(2)}"
    return os.path.join(config.project_dir, project["output_dir"], run_id)


def dump_yaml(data: dict[str, Any]) -> str:
    import io

    from recipe.config.overrides import _to_round_trip
    from recipe.config.source import new_yaml

    out = io.StringIO()
    new_yaml().dump(_to_round_trip(data), out)
    return out.getvalue()


def prepare_run_dir(config: ValidatedConfig, run_dir: str) -> None:
    """Write config.yaml (as launched) and resolved.yaml before anything heavy starts."""
    os.makedirs(os.path.join(run_dir, CHECKPOINT_DIR), exist_ok=True)
    launched = os.path.join(run_dir, CONFIG_FILE)
    same_file = os.path.exists(launched) and os.path.samefile(launched, config.source.file)
    if not same_file or config.overrides:
        text = apply_overrides_to_text(config.source.text, config.overrides, config.source.file)
        atomic_write_text(launched, text)
    atomic_write_text(os.path.join(run_dir, RESOLVED_FILE), dump_yaml(config.data))


class _DropLightningTips(logging.Filter):
    """Keeps stdout.log about this run: no product tips, no 'configured so 100%' notes, and
    no 'TPU available: False' on machines without one (the GPU line stays: it says whether
    the run uses the GPU)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        no_tpu = message.startswith("TPU available: False")
        return not (message.startswith("💡") or "was configured so 100%" in message or no_tpu)


def _silence_known_noise() -> None:
    for handler in logging.getLogger("pytorch_lightning").handlers:
        handler.addFilter(_DropLightningTips())
    # The in-memory loader needs no workers; Lightning's advice about them is noise here.
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*is smaller than the logging interval.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*weights_only.*was not set.*")


def run_training(config: ValidatedConfig, run_dir: str, ckpt_path: str | None) -> int:
    """Build everything from the validated config and fit. Returns an exit status."""
    from recipe.deferred_imports import defer_scipy_signal

    defer_scipy_signal()  # before Lightning's imports, which would load it for nothing
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.callbacks import EarlyStopping

    from recipe.callbacks import (
        AtomicCheckpointIO,
        ConsoleSummary,
        FreezeBackbone,
        GracefulStop,
        JsonlMetricsLogger,
        RecipeCheckpoint,
        ThrottledTensorBoardLogger,
    )
    from recipe.data import DataBundle, DataError, make_loader
    from recipe.module import RecipeModule, default_monitor
    from recipe.registry import instantiate

    _silence_known_noise()

    cfg = config.data
    trainer_cfg = cfg["trainer"]
    loader_cfg = cfg["dataloader"]
    seed = int(cfg["project"]["seed"])
    pl.seed_everything(seed, workers=True, verbose=False)

    try:
        bundle: DataBundle = instantiate(cfg["data"], "data", seed=seed)
    except DataError as exc:
        print(f"{config.source.file}: data: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    data_info = {
        "task": bundle.task,
        "input_shape": list(bundle.input_shape),
        "num_outputs": bundle.num_outputs,
        "class_names": bundle.class_names,
        "preprocess": bundle.preprocess,
    }
    atomic_write_json(os.path.join(run_dir, PREDICT_FILE), data_info)

    module = RecipeModule(cfg, data_info)
    module.train_transform = bundle.train_transform

    monitor, mode = default_monitor(bundle.task)
    if trainer_cfg["monitor"] != "auto":
        monitor = trainer_cfg["monitor"]
        mode = "max" if any(k in monitor for k in ("acc", "f1", "r2", "auc")) else "min"
    if trainer_cfg["mode"] != "auto":
        mode = trainer_cfg["mode"]

    jsonl = JsonlMetricsLogger(os.path.join(run_dir, METRICS_FILE), trainer_cfg["max_epochs"])
    loggers = [jsonl, ThrottledTensorBoardLogger(save_dir=run_dir, name="tb", version="")]
    last_path = os.path.join(run_dir, CHECKPOINT_DIR, LAST_CHECKPOINT)
    checkpoint = RecipeCheckpoint(
        dirpath=os.path.join(run_dir, CHECKPOINT_DIR),
        filename="best",
        monitor=monitor,
        mode=mode,
        save_top_k=1,
        save_last=True,
        enable_version_counter=False,
        auto_insert_metric_name=False,
    )
    stop = GracefulStop(STOP, last_path, checkpoint)
    callbacks: list[Any] = [checkpoint, ConsoleSummary(), stop]
    if trainer_cfg["early_stopping_patience"] is not None:
        callbacks.append(
            EarlyStopping(
                monitor=monitor, mode=mode, patience=trainer_cfg["early_stopping_patience"]
            )
        )
    if trainer_cfg["freeze_epochs"] > 0:
        callbacks.append(FreezeBackbone(trainer_cfg["freeze_epochs"], trainer_cfg["freeze_module"]))
    callbacks.extend(instantiate(ref, "callbacks") for ref in cfg["callbacks"])

    interactive = sys.stdout.isatty()
    trainer = pl.Trainer(
        default_root_dir=run_dir,
        max_epochs=trainer_cfg["max_epochs"],
        max_steps=trainer_cfg["max_steps"],
        accelerator=trainer_cfg["accelerator"],
        devices=trainer_cfg["devices"],
        strategy=trainer_cfg["strategy"],
        num_nodes=trainer_cfg["num_nodes"],
        precision=trainer_cfg["precision"],
        gradient_clip_val=trainer_cfg["gradient_clip_val"],
        accumulate_grad_batches=trainer_cfg["accumulate_grad_batches"],
        deterministic=trainer_cfg["deterministic"],
        log_every_n_steps=trainer_cfg["log_every_n_steps"],
        check_val_every_n_epoch=trainer_cfg["check_val_every_n_epoch"],
        limit_train_batches=trainer_cfg["limit_train_batches"],
        limit_val_batches=trainer_cfg["limit_val_batches"],
        logger=loggers,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=interactive,
        enable_model_summary=interactive,
        num_sanity_val_steps=0,
    )

    pin = loader_cfg["pin_memory"]
    pin_memory = torch.cuda.is_available() if pin == "auto" else bool(pin)
    # In-memory data takes the sliced fast path (it shards itself across DDP ranks);
    # anything else gets a DataLoader, where Lightning inserts the DistributedSampler.
    train_loader = make_loader(
        bundle.train,
        batch_size=loader_cfg["batch_size"],
        shuffle=True,
        num_workers=loader_cfg["num_workers"],
        pin_memory=pin_memory,
        drop_last=loader_cfg["drop_last"],
        seed=seed,
    )
    val_loader = make_loader(
        bundle.val,
        batch_size=loader_cfg["val_batch_size"] or loader_cfg["batch_size"],
        shuffle=False,
        num_workers=loader_cfg["num_workers"],
        pin_memory=pin_memory,
        seed=seed,
    )

    if module.lr == "auto" and ckpt_path is None:
        module.lr = 1e-3  # a number for configure_optimizers; the finder sweeps its own range
        from pytorch_lightning.tuner import Tuner

        finder = Tuner(trainer).lr_find(
            module, train_dataloaders=train_loader, val_dataloaders=val_loader, attr_name="lr"
        )
        suggestion = finder.suggestion() if finder is not None else None
        module.lr = float(suggestion) if suggestion else 1e-3
        print(f"learning-rate finder: lr = {module.lr:.3g}", flush=True)
        jsonl.log_event("lr_find", 0, 0, lr=module.lr)

    class _Progress(pl.Callback):
        def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            total = trainer.estimated_stepping_batches
            jsonl.total_steps = int(total) if total != float("inf") else None
            jsonl.step_source = lambda: trainer.global_step
            jsonl.log_event(
                "start",
                trainer.global_step,
                trainer.current_epoch,
                monitor=monitor,
                mode=mode,
                resumed=ckpt_path is not None,
                task=bundle.task,
            )

    trainer.callbacks.insert(0, _Progress())  # type: ignore[attr-defined]
    print(f"run directory: {run_dir}", flush=True)
    trainer.fit(module, train_loader, val_loader, ckpt_path=ckpt_path)

    if STOP.requested:
        if not stop.saved:  # the stop came before the first batch ended
            trainer.save_checkpoint(last_path, weights_only=False)
        jsonl.log_event("end", trainer.global_step, trainer.current_epoch, status="stopped")
        if trainer.is_global_zero:  # under DDP, rank 0 saved it
            step = trainer.global_step
            print(f"stopped by {STOP.signal_name}; checkpoint saved at step {step}", flush=True)
        return EXIT_STOPPED
    jsonl.log_event("end", trainer.global_step, trainer.current_epoch, status="completed")
    best = checkpoint.best_model_score
    if best is not None and trainer.is_global_zero:
        print(f"best {monitor}: {float(best):.4f}", flush=True)
    return EXIT_OK


def train(request: TrainRequest) -> int:
    """Validate, lay out the run directory, train. Never a traceback for a user mistake."""
    STOP.install()  # before the heavy imports: a stop while starting up is honoured too
    ckpt_path = None
    if request.resume:
        run_dir = request.resume
        config_path = os.path.join(run_dir, CONFIG_FILE)
        ckpt_path = os.path.join(run_dir, CHECKPOINT_DIR, LAST_CHECKPOINT)
        if not os.path.exists(config_path):
            print(f"{run_dir}: not a run directory (no {CONFIG_FILE})", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        if not os.path.exists(ckpt_path):
            print(
                f"{ckpt_path}: no checkpoint to resume from; the run stopped before its "
                "first checkpoint — launch it again instead",
                file=sys.stderr,
            )
            return EXIT_CONFIG_ERROR
        overrides = request.overrides  # e.g. more epochs; recorded in config.yaml
    else:
        assert request.config_path is not None
        config_path, overrides = request.config_path, request.overrides
    try:
        config = validate(config_path, overrides)
        run_dir = request.resume or request.run_dir or new_run_dir(config)
        prepare_run_dir(config, run_dir)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EXIT_CONFIG_ERROR
    if STOP.requested:
        print(f"stopped by {STOP.signal_name} before training started", flush=True)
        return EXIT_STOPPED
    try:
        return run_training(config, run_dir, ckpt_path)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EXIT_CONFIG_ERROR
    except Exception:
        traceback.print_exc()
        print(f"training failed; the run directory is {run_dir}", file=sys.stderr)
        return EXIT_FAILED


__all__ = ["Position", "TrainRequest", "train"]
