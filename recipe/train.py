"""`python -m recipe train`: one config in, one run directory out.

Read top to bottom, this is the whole pipeline: validate everything first (so a typo never
costs a training run), lay out the run directory, build data / module / trainer from the
config, fit, and leave a checkpoint however the run ends.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from recipe import (
    EXIT_CONFIG_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PRUNED,
    EXIT_REQUEUE,
    EXIT_STOPPED,
)
from recipe.checking import check_grid, print_problems, validate
from recipe.code_snapshot import run_code, snapshot_code, use_run_code
from recipe.config import ConfigError, Position, ValidatedConfig
from recipe.io import atomic_write_json
from recipe.log_noise import silence_known_noise
from recipe.missing_files import MissingFileError
from recipe.run_dir import (
    BEST_CHECKPOINT,
    CHECKPOINT_DIR,
    CONFIG_FILE,
    LAST_CHECKPOINT,
    METRICS_FILE,
    PREDICT_FILE,
    RESOLVED_FILE,
    debug_run_dir,
    dump_yaml,
    ensure_end_event,
    new_run_dir,
    prepare_run_dir,
)
from recipe.slurm_job import announce as announce_slurm
from recipe.stopping import STOP


@dataclass
class TrainRequest:
    """What the command line asked for."""

    config_path: str | None
    overrides: list[str]
    run_dir: str | None = None
    resume: str | None = None
    debug: bool = False


def run_training(
    config: ValidatedConfig, run_dir: str, ckpt_path: str | None, debug: bool = False
) -> int:
    """Build everything from the validated config and fit. Returns an exit status.

    `debug`: one batch of training and one of validation, in this one process (no
    DataLoader workers, no DDP ranks), so a `breakpoint()` stops in the user's terminal.
    """
    from recipe.deferred_imports import defer_unused_imports

    defer_unused_imports()  # before Lightning's imports, which would load it for nothing
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import EarlyStopping

    from recipe.callbacks import (
        AtomicCheckpointIO,
        ConsoleSummary,
        GracefulStop,
        JsonlMetricsLogger,
        RecipeCheckpoint,
        ThrottledTensorBoardLogger,
    )
    from recipe.config.data_values import fill_config
    from recipe.data import DataBundle, DataError, make_loader
    from recipe.data.tables import save_transformer
    from recipe.ddp_local import keep_ddp_on_loopback
    from recipe.finetune import FreezeBackbone, unfreezable
    from recipe.hparams import SweepHParams
    from recipe.lr_finder import choose_lr
    from recipe.module import default_monitor
    from recipe.preflight import build_module
    from recipe.registry import data_injections, instantiate
    from recipe.slurm_job import cluster_plugins
    from recipe.speed import plan as speed_plan
    from recipe.speed import probe
    from recipe.steering import Steering
    from recipe.tasks import monitor_mode

    silence_known_noise()

    cfg = config.data
    trainer_cfg = dict(cfg["trainer"])
    loader_cfg = dict(cfg["dataloader"])
    if debug:
        trainer_cfg.update(devices=1, strategy="auto", num_nodes=1, max_epochs=1, max_steps=1)
        trainer_cfg.update(limit_train_batches=1, limit_val_batches=1, check_val_every_n_epoch=1)
        loader_cfg["num_workers"] = 0
        trainer_cfg["compile"] = False  # pdb cannot step through a compiled graph
    seed = int(cfg["project"]["seed"])
    pl.seed_everything(seed, workers=True, verbose=False)

    try:
        bundle: DataBundle = instantiate(cfg["data"], "data", **data_injections(cfg))
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
    if bundle.fitted_preprocess is not None:  # a table's encoder, for predict
        save_transformer(bundle.fitted_preprocess, run_dir)
    atomic_write_json(os.path.join(run_dir, PREDICT_FILE), data_info)
    cfg = fill_config(cfg, data_info)  # ${data.num_classes} and the like, now known

    module = build_module(config, cfg, data_info, bundle)
    # Precision, channels_last, cudnn.benchmark, pinned memory, torch.compile: one plan
    # from what the device can do (recipe/speed.py), logged once below.
    speed = speed_plan(
        trainer_cfg, loader_cfg, probe(trainer_cfg["accelerator"]), conv_net=module.has_conv2d()
    )
    module.apply_speed(channels_last=speed.channels_last, compile=speed.compile)

    monitor, mode = default_monitor(bundle.task)
    if trainer_cfg["monitor"] != "auto":
        monitor = trainer_cfg["monitor"]
        mode = monitor_mode(monitor)
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
    steering = Steering(run_dir, jsonl, STOP, last_path, resumed=ckpt_path is not None)
    callbacks: list[Any] = [checkpoint, ConsoleSummary(), stop, steering]  # steering: control/
    callbacks.append(SweepHParams(run_dir, checkpoint))  # TensorBoard's HParams, in a sweep
    if trainer_cfg["early_stopping_patience"] is not None:
        callbacks.append(
            EarlyStopping(
                monitor=monitor, mode=mode, patience=trainer_cfg["early_stopping_patience"]
            )
        )
    freeze = FreezeBackbone.from_config(cfg)
    if freeze is not None:
        callbacks.append(freeze)
    media = cfg["media"]
    # media/: predictions drawn each validation (recipe/media.py); not under --debug, where
    # its forward over a few images would stop at the user's breakpoint once more
    if media["images"] > 0 and not debug:
        from recipe.media import MediaWriter

        threshold = float(cfg["predict"].get("threshold", 0.5))
        writer = MediaWriter(run_dir, data_info, **media, threshold=threshold, val_data=bundle.val)
        callbacks.append(writer)
    callbacks.extend(instantiate(ref, "callbacks") for ref in cfg["callbacks"])

    interactive = sys.stdout.isatty() and not debug  # a bar redrawn under pdb is noise
    trainer = pl.Trainer(
        default_root_dir=run_dir,
        max_epochs=trainer_cfg["max_epochs"],
        max_steps=trainer_cfg["max_steps"],
        accelerator=trainer_cfg["accelerator"],
        devices=trainer_cfg["devices"],
        strategy=unfreezable(trainer_cfg["strategy"]) if freeze else trainer_cfg["strategy"],
        num_nodes=trainer_cfg["num_nodes"],
        precision=speed.precision,  # type: ignore[arg-type]
        benchmark=speed.benchmark,
        gradient_clip_val=trainer_cfg["gradient_clip_val"],
        accumulate_grad_batches=trainer_cfg["accumulate_grad_batches"],
        deterministic=trainer_cfg["deterministic"],
        log_every_n_steps=trainer_cfg["log_every_n_steps"],
        check_val_every_n_epoch=trainer_cfg["check_val_every_n_epoch"],
        limit_train_batches=trainer_cfg["limit_train_batches"],
        limit_val_batches=trainer_cfg["limit_val_batches"],
        logger=loggers,
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO(), *cluster_plugins()],  # SLURM: no hpc_ckpt, no requeue
        enable_progress_bar=interactive,
        enable_model_summary=interactive,
        num_sanity_val_steps=0,
    )

    pin_memory = speed.pin_memory
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

    if trainer.is_global_zero:
        print(speed.describe(pinned=getattr(train_loader, "pin_memory", False)), flush=True)
    keep_ddp_on_loopback(trainer)
    if module.lr == "auto" and ckpt_path is None:  # a resume keeps the rate it had
        module.lr = choose_lr(trainer, module, train_loader, val_loader, cfg, freeze, jsonl, debug)

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
    try:
        trainer.fit(module, train_loader, val_loader, ckpt_path=ckpt_path)
    except DataError as exc:  # e.g. an image that fails to decode, maybe in a worker
        # A worker's error arrives with its traceback as text; its last line is the message.
        message = str(exc).strip().splitlines()[-1].removeprefix(f"{DataError.__module__}.")
        print(f"data: {message.removeprefix('DataError: ')}", file=sys.stderr, flush=True)
        return EXIT_FAILED

    # A stop (or SLURM's requeue warning) that ended the loop; a requeue asked for after the
    # last batch is moot: the run completed.
    outcome = stop.outcome or (("pruned" if STOP.pruned else "stopped") if STOP.requested else None)
    if outcome is not None:
        if not stop.saved:  # the stop came after the last batch ended
            trainer.save_checkpoint(last_path, weights_only=False)
        code = _EXIT_BY_OUTCOME[outcome]
        step = trainer.global_step
        jsonl.log_event("end", step, trainer.current_epoch, status=outcome, exit_code=code)
        if trainer.is_global_zero:  # under DDP, rank 0 saved it
            why = "requeueing" if code == EXIT_REQUEUE else f"{outcome} by {STOP.signal_name}"
            print(f"{why}; checkpoint saved at step {step}", flush=True)
        return code
    jsonl.log_event(
        "end", trainer.global_step, trainer.current_epoch, status="completed", exit_code=EXIT_OK
    )
    best = checkpoint.best_model_score
    if best is not None and trainer.is_global_zero:
        print(f"best {monitor}: {float(best):.4f}", flush=True)
    return EXIT_OK


_STATUS = {EXIT_OK: "completed", EXIT_STOPPED: "stopped", EXIT_REQUEUE: "requeued"}  # else failed
_STATUS[EXIT_PRUNED] = "pruned"
_EXIT_BY_OUTCOME = {"stopped": EXIT_STOPPED, "pruned": EXIT_PRUNED, "requeued": EXIT_REQUEUE}


def train(request: TrainRequest) -> int:
    """Validate, lay out the run directory, train. Never a traceback for a user mistake.

    The last line of metrics.jsonl is the end event for every outcome this process lives
    to see (a config error in an existing run directory, a failure, a stop, success).
    A resume builds models without their pretrained weights: last.ckpt holds every
    parameter, so a cleared cache or another machine does not stop it.
    """
    if request.resume:
        from recipe.vision.weights import from_checkpoint

        with from_checkpoint():
            return _train(request)
    return _train(request)


def _train(request: TrainRequest) -> int:
    STOP.install()  # before the heavy imports: a stop while starting up is honoured too
    announce_slurm()  # one line: job, attempt, node, rank (nothing outside SLURM)
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
    existing = request.resume or request.run_dir  # may hold the code it was launched with
    try:
        config = validate(config_path, overrides, custom=use_run_code(existing))
        if request.debug:
            run_dir = debug_run_dir(config)
        else:
            run_dir = request.resume or request.run_dir or new_run_dir(config)
        prepare_run_dir(config, run_dir)
        if not request.debug and run_code(run_dir) is None:  # no copy yet: make one
            snapshot_code(config.project_dir, config.data["project"]["custom"], run_dir)
    except ConfigError as exc:
        print_problems(exc.problems)
        if existing:
            ensure_end_event(existing, "failed", EXIT_CONFIG_ERROR)
        return EXIT_CONFIG_ERROR
    if request.debug:
        print(
            f"--debug: one batch of training and one of validation, no DataLoader "
            f"workers, one process; scratch run directory {run_dir}",
            flush=True,
        )
    status = _train_in(config, run_dir, ckpt_path, request.debug)
    ensure_end_event(run_dir, _STATUS.get(status, "failed"), status)
    return status


def _train_in(config: ValidatedConfig, run_dir: str, ckpt_path: str | None, debug: bool) -> int:
    if STOP.requested:
        print(f"stopped by {STOP.signal_name} before training started", flush=True)
        return EXIT_STOPPED
    if STOP.requeue:
        print("requeueing before training started (SIGUSR1)", flush=True)
        return EXIT_REQUEUE
    try:
        return run_training(config, run_dir, ckpt_path, debug)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EXIT_CONFIG_ERROR
    except MissingFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except Exception:
        traceback.print_exc()
        print(f"training failed; the run directory is {run_dir}", file=sys.stderr)
        return EXIT_FAILED


# The run directory's names, re-exported for the code that imported them from here.
__all__ = [
    "BEST_CHECKPOINT",
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "LAST_CHECKPOINT",
    "PREDICT_FILE",
    "RESOLVED_FILE",
    "Position",
    "TrainRequest",
    "check_grid",
    "dump_yaml",
    "print_problems",
    "train",
    "validate",
]
