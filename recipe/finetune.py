"""Fine-tuning a pretrained network: which part is its head, the rest frozen for the first
`trainer.freeze_epochs`, a lower backbone learning rate and a re-warm after unfreezing.

timm and torchvision models have no `backbone` attribute to freeze, so the part that trains
while the rest is frozen is found by each library's own notion of classifier (`find_head`):
timm's `pretrained_cfg["classifier"]` / `get_classifier()`, the built-in models' `head`,
and for anything else (torchvision's `fc`, `classifier`, `heads`, ...) the submodule that
holds the model's last Linear layer. `trainer.head_module` names the head instead, and
`trainer.freeze_module` (the old key) names the submodule(s) to freeze.

Every parameter is in the optimizer from the start, in two groups (`head` at `lr`, then
`backbone` at `lr x optimizer.backbone_lr_mult`); frozen parameters simply get no gradient,
so the optimizers skip them. Lightning's `BaseFinetuning.unfreeze_and_add_param_group` adds
the backbone's group at unfreeze time instead, which breaks the schedulers built before it
(LambdaLR never scales the new group, OneCycleLR has no `max_lr` for it) and makes the
optimizer's shape depend on the epoch a checkpoint was taken at. Lightning's own freeze and
unfreeze helpers (`BaseFinetuning.freeze` / `make_trainable`) are used for the flags.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import BaseFinetuning
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

AUTO = "auto"
HEAD_GROUP, BACKBONE_GROUP = "head", "backbone"


class FinetuneError(ValueError):
    """A head or frozen module that cannot be found; `key` is the setting to point at."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Split:
    """A model cut in two. `head`: submodules that train from the start (the backbone is
    everything else); or, when `frozen` is given, the submodules that are the backbone."""

    head: tuple[str, ...]
    frozen: tuple[str, ...]
    source: str  # how it was found, for the run's message

    def describe(self) -> str:
        if self.frozen:
            return ", ".join(f"model.{name}" for name in self.frozen)
        return "all but " + ", ".join(f"model.{name}" for name in self.head)


def uses_split(config: dict[str, Any]) -> bool:
    """Whether the run cuts its model in two (freezing, or a backbone learning rate)."""
    trainer, optimizer = config["trainer"], config.get("optimizer")
    freezes = isinstance(trainer.get("freeze_epochs"), int) and trainer["freeze_epochs"] > 0
    named = isinstance(optimizer, dict) and any(
        key in optimizer for key in ("backbone_lr_mult", "unfreeze_warmup_steps")
    )
    return freezes or named


def _names(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _has_parameters(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def _submodule(model: nn.Module, name: str) -> nn.Module | None:
    try:
        found = model.get_submodule(name)
    except AttributeError:
        return None
    return found if name and _has_parameters(found) else None


def _timm_head(model: nn.Module) -> tuple[tuple[str, ...], str] | None:
    """timm's own notion: `pretrained_cfg["classifier"]`, else `get_classifier()`."""
    config = getattr(model, "pretrained_cfg", None)
    get_classifier = getattr(model, "get_classifier", None)
    if not isinstance(config, dict) or not callable(get_classifier):
        return None
    named = config.get("classifier")
    names = _names(named) if isinstance(named, str | list | tuple) else ()
    if names and all(_submodule(model, name) is not None for name in names):
        return names, "timm's pretrained_cfg['classifier']"
    found = get_classifier()
    wanted = [found] if isinstance(found, nn.Module) else list(found or ())
    by_identity = {id(module): name for name, module in model.named_modules() if name}
    names = tuple(by_identity[id(m)] for m in wanted if id(m) in by_identity and _has_parameters(m))
    return (names, "timm's get_classifier()") if names else None


def _last_linear_owner(model: nn.Module) -> str | None:
    """The submodule holding the last Linear layer: from the model down the path to that
    layer, the first child that has siblings with parameters (`fc` of a ResNet, the whole
    `classifier` of an EfficientNet, `net.2` of a model wrapping a Sequential)."""
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if not last:
        return None
    node, path = model, []
    for part in last.split("."):
        path.append(part)
        own = any(True for _ in node.parameters(recurse=False))
        siblings = any(_has_parameters(c) for n, c in node.named_children() if n != part)
        if own or siblings:
            return ".".join(path)
        node = node.get_submodule(part)
    return ".".join(path)


def find_head(model: nn.Module) -> tuple[tuple[str, ...], str]:
    """The model's classifier head, by the library's own notion, and how it was found."""
    found = _timm_head(model)
    if found is not None:
        return found
    head = getattr(model, "head", None)
    if isinstance(head, nn.Module) and _has_parameters(head):
        return ("head",), "the model's `head`"
    owner = _last_linear_owner(model)
    if owner is not None:
        return (owner,), "the submodule holding its last Linear layer"
    children = ", ".join(name for name, _ in model.named_children()) or "none"
    raise FinetuneError(
        "trainer.head_module",
        f"found no classifier head in the model ({type(model).__name__}): it has no `head`, "
        f"no timm classifier and no Linear layer; set trainer.head_module to the submodule "
        f"that trains while the rest is frozen (its submodules: {children})",
    )


def _check_names(model: nn.Module, key: str, names: tuple[str, ...], purpose: str) -> None:
    from recipe.config.errors import did_you_mean

    for name in names:
        if _submodule(model, name) is None:
            known = [n for n, m in model.named_modules() if n and _has_parameters(m)]
            children = [n for n, _ in model.named_children()]
            raise FinetuneError(
                key,
                f"{key} '{name}': the model ({type(model).__name__}) has no submodule "
                f"'{name}'{did_you_mean(name, known)} (its submodules: "
                f"{', '.join(children) or 'none'}); set {key} to {purpose}",
            )


def find_split(
    model: nn.Module, freeze_module: str | list[str], head_module: str | list[str]
) -> Split:
    """The run's split: `freeze_module` names the backbone, else `head_module` or the
    found head is what trains while everything else is frozen."""
    if freeze_module != AUTO:
        if head_module != AUTO:
            raise FinetuneError(
                "trainer.head_module",
                "trainer.freeze_module and trainer.head_module are both set: name either "
                "the modules to freeze or the head that trains (everything else is frozen)",
            )
        names = _names(freeze_module)
        purpose = "the one to freeze during freeze_epochs"
        _check_names(model, "trainer.freeze_module", names, purpose)
        return Split((), names, "trainer.freeze_module")
    if head_module != AUTO:
        names = _names(head_module)
        _check_names(model, "trainer.head_module", names, "the head that trains while frozen")
        return Split(names, (), "trainer.head_module")
    names, source = find_head(model)
    return Split(names, (), source)


def backbone_parameters(model: nn.Module, split: Split) -> list[nn.Parameter]:
    """The parameters frozen during freeze_epochs (and given the backbone's rate)."""
    if split.frozen:
        seen: dict[int, nn.Parameter] = {}
        for name in split.frozen:
            seen.update((id(p), p) for p in model.get_submodule(name).parameters())
        return list(seen.values())
    head = {id(p) for name in split.head for p in model.get_submodule(name).parameters()}
    return [p for p in model.parameters() if id(p) not in head]


def parameter_groups(
    model: nn.Module, split: Split, lr: float, backbone_lr_mult: float
) -> list[dict[str, Any]]:
    """`head` (at the optimizer's lr), then `backbone` at lr x backbone_lr_mult."""
    backbone = backbone_parameters(model, split)
    ids = {id(p) for p in backbone}
    rest = [p for p in model.parameters() if id(p) not in ids]
    groups = [{"params": rest, "name": HEAD_GROUP}] if rest else []
    return [*groups, {"params": backbone, "lr": lr * backbone_lr_mult, "name": BACKBONE_GROUP}]


def unfreezable(strategy: str) -> str:
    """DDP that tolerates parameters without a gradient: frozen ones have none, and plain
    DDP stops the first step ("parameters that were not used in producing the loss")."""
    return "ddp_find_unused_parameters_true" if strategy == "ddp" else strategy


def _model_of(pl_module: pl.LightningModule) -> nn.Module:
    model = getattr(pl_module, "model", None)
    if not isinstance(model, nn.Module):
        raise TypeError("FreezeBackbone needs a LightningModule with a `model` submodule")
    return model


class FreezeBackbone(pl.Callback):
    """Trains only the head for the first `epochs` epochs, then everything.

    While frozen, the backbone's BatchNorm layers stay in eval mode (their running
    statistics do not move: a pretrained network's statistics are part of its weights).
    After unfreezing, the backbone's learning rate can be re-warmed linearly over
    `warmup_steps` optimizer steps: its Adam moments start from zero there, where the first
    updates are the largest. The step it unfroze at is in the callback's checkpoint state, so
    a resumed run freezes, unfreezes and re-warms exactly as the original would have.
    """

    def __init__(
        self,
        epochs: int,
        freeze_module: str | list[str] = AUTO,
        head_module: str | list[str] = AUTO,
        warmup_steps: int = 0,
        backbone_lr_mult: float = 1.0,
    ) -> None:
        self.epochs = epochs
        self.freeze_module = freeze_module
        self.head_module = head_module
        self.warmup_steps = warmup_steps
        self.backbone_lr_mult = backbone_lr_mult
        self.unfrozen_at: int | None = None  # the global step the backbone unfroze at
        self.hold_frozen = False  # set around the learning-rate sweep (`held_frozen`)
        self.split: Split | None = None
        self._frozen: bool | None = None
        self._batch_norms: list[nn.Module] = []
        self._hooks: list[Any] = []
        self._saved_lrs: list[tuple[dict[str, Any], float]] = []

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FreezeBackbone | None:
        """The callback a config asks for (`trainer.freeze_epochs` > 0), or None."""
        trainer, optimizer = config["trainer"], config["optimizer"]
        if trainer["freeze_epochs"] <= 0:
            return None
        optimizer = optimizer if isinstance(optimizer, dict) else {}
        return cls(
            trainer["freeze_epochs"],
            trainer["freeze_module"],
            trainer["head_module"],
            warmup_steps=int(optimizer.get("unfreeze_warmup_steps", 0)),
            backbone_lr_mult=float(optimizer.get("backbone_lr_mult", 1.0)),
        )

    def state_dict(self) -> dict[str, Any]:
        return {"unfrozen_at": self.unfrozen_at}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.unfrozen_at = state_dict.get("unfrozen_at")

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._find_split(pl_module)

    def _find_split(self, pl_module: pl.LightningModule) -> None:
        model = _model_of(pl_module)
        self.split = find_split(model, self.freeze_module, self.head_module)
        # By module, not by parameter: a BatchNorm without affine parameters has statistics too.
        named = [model.get_submodule(name) for name in self.split.frozen or self.split.head]
        inside = {id(m) for module in named for m in module.modules()}
        self._batch_norms = [
            m
            for m in model.modules()
            if isinstance(m, _BatchNorm) and (id(m) in inside) == bool(self.split.frozen)
        ]

    def _modules(self, model: nn.Module) -> list[nn.Module]:
        assert self.split is not None
        names = self.split.frozen or self.split.head
        return [model.get_submodule(name) for name in names]

    @contextlib.contextmanager
    def held_frozen(self, pl_module: pl.LightningModule) -> Iterator[None]:
        """The backbone frozen (and its BatchNorms in eval mode) for the learning-rate
        sweep, which runs with none of the run's callbacks (Lightning swaps in its own)."""
        self._find_split(pl_module)
        self.hold_frozen, self._frozen = True, None
        self._apply(None, pl_module)
        try:
            yield
        finally:
            for module in self._batch_norms:
                module.train(pl_module.training)
            self.hold_frozen, self._frozen = False, None

    def _apply(self, trainer: pl.Trainer | None, pl_module: pl.LightningModule) -> None:
        frozen = self.hold_frozen or trainer is None or trainer.current_epoch < self.epochs
        model = _model_of(pl_module)
        if frozen and self._frozen is not True:
            if self.split is not None and self.split.frozen:
                BaseFinetuning.freeze(self._modules(model), train_bn=False)
            else:
                BaseFinetuning.freeze(model, train_bn=False)
                BaseFinetuning.make_trainable(self._modules(model))
            if trainer is not None:
                self._announce_freeze(trainer, model)
        elif trainer is not None and not frozen and self._frozen is not False:
            BaseFinetuning.make_trainable(self._modules(model) if self._is_named() else model)
            for module in self._batch_norms:
                module.train(pl_module.training)
            if self.unfrozen_at is None:
                self.unfrozen_at = trainer.global_step
                self._announce_unfreeze(trainer)
        self._frozen = frozen
        if frozen:
            for module in self._batch_norms:
                module.eval()

    def _is_named(self) -> bool:
        return self.split is not None and bool(self.split.frozen)

    def _announce_freeze(self, trainer: pl.Trainer, model: nn.Module) -> None:
        if self.hold_frozen or not trainer.is_global_zero or self.split is None:
            return
        frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        what = (
            f"freezing {self.split.describe()}"
            if self.split.frozen
            else "training only " + ", ".join(f"model.{n}" for n in self.split.head)
        )
        print(
            f"freeze_epochs {self.epochs}: {what} ({self.split.source}); "
            f"{frozen:,} of {total:,} parameters frozen",
            flush=True,
        )

    def _announce_unfreeze(self, trainer: pl.Trainer) -> None:
        if not trainer.is_global_zero or self.split is None:
            return
        extra = ""
        if self.backbone_lr_mult != 1.0:
            extra += f"; backbone lr = lr x {self.backbone_lr_mult:g}"
        if self.warmup_steps > 0:
            extra += f", re-warmed over {self.warmup_steps} steps"
        where = self.split.describe() if self.split.frozen else "the backbone"
        print(f"unfreezing {where} at epoch {trainer.current_epoch + 1}{extra}", flush=True)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._frozen = None  # a resumed run (or the sweep) sets the flags afresh
        self._apply(trainer, pl_module)
        for optimizer in trainer.optimizers:
            self._hooks.append(optimizer.register_step_pre_hook(self._warm))
            self._hooks.append(optimizer.register_step_post_hook(self._restore))
        self._trainer = trainer

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._apply(trainer, pl_module)

    def on_train_batch_start(self, trainer: pl.Trainer, *_: Any) -> None:
        if self._frozen:  # whatever a user's hook or a library's train() did meanwhile
            for module in self._batch_norms:
                module.eval()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()

    def warm_factor(self, global_step: int) -> float:
        """The re-warm's factor on the backbone's rate at `global_step` (1 when none)."""
        if self.unfrozen_at is None or self.warmup_steps <= 0:
            return 1.0
        done = global_step - self.unfrozen_at
        return 1.0 if done >= self.warmup_steps else (done + 1) / (self.warmup_steps + 1)

    def _warm(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        factor = self.warm_factor(self._trainer.global_step)
        if factor == 1.0 or self._frozen:
            return
        for group in optimizer.param_groups:
            if group.get("name") == BACKBONE_GROUP:
                self._saved_lrs.append((group, group["lr"]))
                group["lr"] = group["lr"] * factor

    def _restore(self, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        # The scheduler steps after the optimizer, from the rate it set (chained ones read it).
        for group, lr in self._saved_lrs:
            group["lr"] = lr
        self._saved_lrs.clear()
