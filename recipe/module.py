"""The LightningModule: a model from the config, a loss, metrics for the task.

Deliberately plain — put a breakpoint in `training_step` and step through one batch.
Everything it builds comes from the validated config via `recipe.registry.instantiate`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.strategies import DDPStrategy, DeepSpeedStrategy, SingleDeviceStrategy
from torch import Tensor, nn

from recipe.config.data_values import fill_config
from recipe.finetune import find_split, parameter_groups, uses_split
from recipe.lr_finder import default_lr
from recipe.missing_files import missing_file_error
from recipe.registry import instantiate, resolve_target
from recipe.tasks import DEFAULT_LOSS, DETECTION_LOGGED, default_monitor, task_metrics

__all__ = ["RecipeModule", "default_monitor", "task_metrics"]


class BatchMean:
    """The epoch mean `self.log(..., on_epoch=True)` computes, kept by hand.

    Accumulated as Lightning does (a sum of value x batch size, divided by the samples),
    so the logged value is the same, for one `self.log` per epoch instead of per batch.
    """

    def __init__(self) -> None:
        self.total: Tensor | None = None
        self.samples = 0

    def reset(self) -> None:
        self.total, self.samples = None, 0

    def add(self, value: Tensor, batch_size: int) -> None:
        weighted = value.detach() * batch_size
        self.total = weighted if self.total is None else self.total + weighted
        self.samples += batch_size

    def compute(self) -> Tensor | None:
        return None if self.total is None else self.total / self.samples


def _as_tensor(values: Any) -> Tensor | None:
    return None if values is None else torch.tensor(values, dtype=torch.float32)


def _is_image_batch(x: Any) -> bool:
    return isinstance(x, Tensor) and x.dim() == 4


class RecipeModule(pl.LightningModule):
    """Trains `config["model"]` with `config["loss"]` and `config["optimizer"]`.

    `data_info` holds what the data decided (task, input shape, outputs, class names), so a
    checkpoint alone rebuilds the module for `recipe predict`.
    """

    def __init__(self, config: dict[str, Any], data_info: dict[str, Any]) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)  # resolved.yaml holds the config
        config = fill_config(config, data_info)  # ${data.num_classes} and the like
        self.config = config
        self.task: str = data_info["task"]
        self.num_outputs: int = int(data_info["num_outputs"])
        try:
            self.model: nn.Module = instantiate(
                config["model"],
                "model",
                input_shape=tuple(data_info["input_shape"]),
                num_outputs=self.num_outputs,
            )
        except FileNotFoundError as error:  # e.g. pretrained weights that moved
            ref = config["model"]
            name = ref if isinstance(ref, str) else ref.get("_target_")
            target = resolve_target(name, "model")
            raise missing_file_error(error, f"model '{name}'", ref, target) from None
        preprocess = data_info.get("preprocess") or {}
        # Segmentation: unlabelled pixels count for neither loss nor metrics; a loss that
        # takes `ignore_index` (cross_entropy, dice_ce) gets the data's unless it sets one.
        self.ignore_index: int | None = preprocess.get("ignore_index")
        loss = config["loss"]
        extra = {} if self.ignore_index is None else {"ignore_index": self.ignore_index}
        self.loss_fn: nn.Module = instantiate(
            DEFAULT_LOSS[self.task] if loss == "auto" else loss, "loss", **extra
        )
        self.lr: Any = config["optimizer"].get("lr")  # `auto` until the LR finder sets it
        metrics = task_metrics(self.task, self.num_outputs, self.ignore_index)
        self.val_metrics = metrics.clone(prefix="val/")
        self.train_transform: Callable[[Tensor], Tensor] | None = None
        # MixUp / CutMix (DataBundle.batch_mix): mixed inputs, soft targets (B, K), which
        # CrossEntropyLoss takes as class probabilities.
        self.batch_mix: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]] | None = None
        self.channels_last = False  # set by apply_speed: input batches go NHWC too
        self._train_loss = BatchMean()
        self._val_loss = BatchMean()
        self._step_loss = torch.tensor(0.0)
        self._step_parts: dict[str, Tensor] = {}  # detection: each loss of the detector
        self._val_batches = 0
        self._step_lr: float | None = None
        # Regression trained on standardised targets reports its metrics in real units.
        self._target_scale = _as_tensor(preprocess.get("target_std"))
        self._target_shift = _as_tensor(preprocess.get("target_mean"))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)

    def has_conv2d(self) -> bool:
        """Whether the model convolves images (where channels_last pays)."""
        return any(isinstance(layer, nn.Conv2d) for layer in self.model.modules())

    def apply_speed(self, *, channels_last: bool, compile: bool) -> None:
        """The model-side half of the run's speed plan (recipe/speed.py).

        channels_last: the weights now, and every 4-D input batch after its transfer.
        compile: `nn.Module.compile()`, which compiles the model's forward in place, so the
        state dict keeps its keys (no `_orig_mod.` prefix, unlike `torch.compile(model)`):
        checkpoints load unchanged for predict, resume and an uncompiled run.
        """
        if channels_last:
            self.channels_last = True
            self.model.to(memory_format=torch.channels_last)
        if compile:
            self.model.compile()

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        # Augmentation runs on whole batches, on the device, during training only.
        if self.train_transform is not None and self.trainer.training:
            x, y = batch
            batch = (self.train_transform(x), y)
        if self.channels_last and isinstance(batch, tuple | list) and _is_image_batch(batch[0]):
            x, *rest = batch
            batch = (x.contiguous(memory_format=torch.channels_last), *rest)
        return batch

    def _loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        if self.task == "regression":
            y = y.to(outputs.dtype).reshape(outputs.shape)
        return self.loss_fn(outputs, y)

    def _mixed(self, x: Tensor, y: Tensor, batch_idx: int) -> tuple[Tensor, Tensor]:
        """The batch through `batch_mix`, seeded by (seed, epoch, batch): the same batch
        of the same epoch is mixed the same way, after a resume too."""
        if self.batch_mix is None:
            return x, y
        seed = int(self.config["project"]["seed"])
        key = (seed * 1_000_003 + self.current_epoch * 7_919 + batch_idx) % 2**63
        with torch.random.fork_rng(devices=[]):  # its draws are on the CPU generator
            torch.default_generator.manual_seed(key)  # not torch.manual_seed: see ImageFiles
            return self.batch_mix(x, y)

    def _detection_loss(self, images: list[Tensor], targets: list[dict[str, Tensor]]) -> Tensor:
        """The detector's own losses on the non-crowd boxes, summed by the loss step."""
        kept = []
        for target in targets:
            keep = target["iscrowd"] == 0  # crowd boxes: ignored in evaluation only
            kept.append({"boxes": target["boxes"][keep], "labels": target["labels"][keep]})
        parts: dict[str, Tensor] = self.model(images, kept)
        self._step_parts = {name: value.detach() for name, value in parts.items()}
        loss: Tensor = self.loss_fn(parts)
        return loss

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        if self.task == "detection":
            loss = self._detection_loss(*batch)  # type: ignore[arg-type]
            x: Any = batch[0]
        else:
            x, y = self._mixed(*batch, batch_idx)
            loss = self._loss(self(x), y)
        self._step_loss = loss.detach()
        self._train_loss.add(self._step_loss, len(x))
        optimizer = self.optimizers()
        if isinstance(optimizer, torch.optim.Optimizer) or hasattr(optimizer, "param_groups"):
            # The rate this step used (the scheduler steps before `on_train_batch_end`).
            self._step_lr = float(optimizer.param_groups[0]["lr"])
        return loss

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # The per-step loss and learning rate go straight to the loggers, on the steps
        # Lightning would write (every `log_every_n_steps`, and when stopping), rather than
        # through `self.log`: each of those calls moves Lightning's whole result collection
        # to the device (~0.8 ms here), a real share of a small model's step.
        connector = getattr(self.trainer, "_logger_connector", None)
        if not getattr(connector, "should_update_logs", True) or self.trainer.sanity_checking:
            return
        values = {"train/loss": float(self._step_loss)}
        values.update({f"train/{name}": float(v) for name, v in self._step_parts.items()})
        if self._step_lr is not None:
            values["lr"] = self._step_lr
        values["epoch"] = self.current_epoch
        for logger in self.loggers:
            logger.log_metrics(values, step=self.global_step)

    def on_train_epoch_start(self) -> None:
        self._train_loss.reset()

    def on_train_epoch_end(self) -> None:
        mean = self._train_loss.compute()
        if mean is not None:
            self.log(
                "train/loss_epoch", mean, on_step=False, on_epoch=True, batch_size=1, sync_dist=True
            )

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor | None:
        """The batch's outputs are returned for callbacks (media/'s confusion matrix)."""
        self._val_batches += 1
        if self.task == "detection":  # eval mode: detections (a detector has no eval loss)
            self.val_metrics.update(self(batch[0]), batch[1])
            return None
        x, y = batch
        outputs = self(x)
        self._val_loss.add(self._loss(outputs, y), len(x))
        if self.task in ("classification", "segmentation"):
            self.val_metrics.update(outputs, y)
        elif self.task == "multilabel":
            self.val_metrics.update(outputs, y.int())  # torchmetrics: integer targets
        else:
            y = y.to(outputs.dtype).reshape(outputs.shape)
            if self._target_scale is not None and self._target_shift is not None:
                scale = self._target_scale.to(outputs.device, outputs.dtype)
                shift = self._target_shift.to(outputs.device, outputs.dtype)
                outputs, y = outputs * scale + shift, y * scale + shift
            if outputs.shape[-1] == 1:  # one target: 1-D, as torchmetrics expects
                outputs, y = outputs.squeeze(-1), y.squeeze(-1)
            self.val_metrics.update(outputs, y)
        return outputs

    def on_validation_epoch_start(self) -> None:
        self._val_loss.reset()
        self._val_batches = 0

    def on_validation_epoch_end(self) -> None:
        # Logged once per validation rather than at every batch: the same values (the
        # same weighted mean; torchmetrics accumulates either way), far fewer `self.log`s.
        mean = self._val_loss.compute()
        if self._val_batches == 0:
            return
        # Under DDP each rank holds its shard's mean (equal shards: the sampler pads them), so
        # the mean over ranks is the whole set's; torchmetrics' compute() is already synced,
        # and averaging equal values leaves them be. One all-reduce per epoch; a no-op
        # in a single process.
        if mean is not None:
            self.log("val/loss", mean, on_epoch=True, prog_bar=True, batch_size=1, sync_dist=True)
        values = self.val_metrics.compute()
        if self.task == "detection":
            values = {f"val/{k}": values[f"val/{k}"] for k in DETECTION_LOGGED}
        self.log_dict(values, on_epoch=True, sync_dist=True)
        self.val_metrics.reset()

    def _fused_default(self, optimizer_ref: dict[str, Any]) -> dict[str, Any]:
        """`fused=True` for a torch optimizer that offers it, unless the config chose.

        torch's fused Adam, AdamW, SGD and friends update every parameter in one kernel,
        on CPU as on GPU: on the digits CNN an AdamW step takes 0.1 ms instead of 0.4 (on
        GPUs the gain is larger), with the same algorithm and deterministic results. torch
        leaves it off by default only for backward compatibility. Not with mixed precision
        and gradient clipping together (Lightning's mixed-precision plugin refuses to clip
        for an optimizer that unscales its own gradients), nor when the config names
        `fused` or `foreach` itself, nor for a custom optimizer, nor for parameters off CPU
        and CUDA or not floating point, nor under FSDP or DeepSpeed (single-device and DDP
        training only).
        """
        if "fused" in optimizer_ref or "foreach" in optimizer_ref:
            return {}
        target = resolve_target(optimizer_ref["_target_"], "optimizer")
        if not (
            isinstance(target, type)
            and issubclass(target, torch.optim.Optimizer)
            and target.__module__.startswith("torch.optim")
            and "fused" in inspect.signature(target).parameters
        ):
            return {}
        strategy = self.trainer.strategy
        if not isinstance(strategy, SingleDeviceStrategy | DDPStrategy) or isinstance(
            strategy, DeepSpeedStrategy
        ):
            return {}  # FSDP and DeepSpeed shard or wrap the optimizer their own way
        clipping = (self.trainer.gradient_clip_val or 0) > 0
        if clipping and "mixed" in str(self.trainer.precision):
            return {}
        for param in self.parameters():
            if param.device.type not in ("cpu", "cuda") or not param.is_floating_point():
                return {}
        return {"fused": True}

    def _parameters_to_optimize(self, optimizer_ref: dict[str, Any]) -> Any:
        """All parameters; for fine-tuning, in a `head` and a `backbone` group (recipe.finetune),
        the backbone's at lr x `optimizer.backbone_lr_mult`, from the start."""
        if not uses_split(self.config):
            return self.parameters()
        trainer = self.config["trainer"]
        split = find_split(self.model, trainer["freeze_module"], trainer["head_module"])
        lr = self.lr if isinstance(self.lr, int | float) else default_lr(optimizer_ref)[0]
        mult = float(optimizer_ref.get("backbone_lr_mult", 1.0))
        return parameter_groups(self.model, split, float(lr), mult)

    def configure_optimizers(self) -> Any:
        optimizer_ref = dict(self.config["optimizer"])
        if "lr" in optimizer_ref:
            optimizer_ref["lr"] = self.lr
        optimizer = instantiate(
            optimizer_ref,
            "optimizer",
            self._parameters_to_optimize(optimizer_ref),
            **self._fused_default(optimizer_ref),
        )
        scheduler_ref = self.config.get("scheduler")
        if not scheduler_ref:
            return optimizer
        if isinstance(scheduler_ref, str):
            scheduler_ref = {"_target_": scheduler_ref}
        total_steps = int(min(self.trainer.estimated_stepping_batches, 2**31 - 1))
        epochs = max(1, int(self.trainer.max_epochs or 1))
        scheduler = instantiate(
            scheduler_ref,
            "scheduler",
            optimizer,
            total_steps=total_steps,
            steps_per_epoch=max(1, total_steps // epochs),
            epochs=epochs,
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": scheduler,
                "interval": scheduler_ref.get("interval", "step"),
                "monitor": scheduler_ref.get("monitor", "val/loss"),
            },
        }
