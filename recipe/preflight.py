"""Checks that need the data and the model built: the metrics a config monitors, and the
submodule it freezes.

`trainer.monitor: val/accuracy` (the task logs `val/acc`) used to pass every check and fail
after the first epoch; `trainer.freeze_module` naming no submodule failed at the first
epoch's start. Which metrics a run logs depends on its task, which only the built data
knows; what a model holds, only the built model. So the full check (`recipe check`, and
`train` before it lays out a run directory) builds them — only when the config names a
metric or freezes a module, so the common check stays as light as it was. A config using
`${data.num_classes}` and the like (recipe.config.data_values) has the data built too: the
check says which of them this data cannot give, and checks the values' types.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from typing import Any

from recipe.config.data_values import data_values, fill_late, late_paths, why_missing
from recipe.config.errors import Position, Problem, did_you_mean
from recipe.config.schema import TARGET_KEY
from recipe.config.source import Path
from recipe.config.validate import ValidatedConfig


@dataclass(frozen=True)
class _Monitor:
    path: Path  # where the config names the metric
    setting: str  # how to call it in a message
    metric: str


def _named_monitors(config: ValidatedConfig) -> list[_Monitor]:
    """Every metric the config names: the trainer's, the scheduler's, each callback's."""
    data = config.data
    found = []
    monitor = data["trainer"].get("monitor")
    if isinstance(monitor, str) and monitor != "auto":
        found.append(_Monitor(("trainer", "monitor"), "trainer.monitor", monitor))
    scheduler = data.get("scheduler")
    if isinstance(scheduler, dict) and isinstance(scheduler.get("monitor"), str):
        found.append(_Monitor(("scheduler", "monitor"), "scheduler.monitor", scheduler["monitor"]))
    for index, callback in enumerate(data.get("callbacks") or []):
        if isinstance(callback, dict) and isinstance(callback.get("monitor"), str):
            name = callback.get(TARGET_KEY)
            found.append(
                _Monitor(("callbacks", index, "monitor"), f"{name}'s monitor", callback["monitor"])
            )
    return found


def logged_metrics(task: str, num_outputs: int) -> list[str]:
    """What a run of `task` logs per epoch, by name: what a monitor can watch."""
    from recipe.module import task_metrics

    names = [f"val/{name}" for name in task_metrics(task, num_outputs)]
    return ["val/loss", *names, "train/loss_epoch"]


def _written(config: ValidatedConfig, path: Path) -> bool:
    dotted = ".".join(map(str, path))
    in_overrides = any(o.split("=", 1)[0].strip() == dotted for o in config.overrides)
    return in_overrides or path in config.source.value_at


def _build_failed(config: ValidatedConfig, what: str, why: str, exc: Exception) -> Problem:
    """The error a build raised, at the user's own line when it came from custom.py."""
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    custom = os.path.abspath(config.custom_path)
    lines = [
        frame.lineno or 1
        for frame in traceback.extract_tb(exc.__traceback__)
        if os.path.abspath(frame.filename) == custom
    ]
    if lines:
        return Problem(
            Position(config.custom_display, lines[-1], 1),
            f"in {config.custom_display}: {type(exc).__name__}: {detail} "
            f"(raised while building the {what} to check {why})",
        )
    return Problem(
        config.locate((what,)),
        f"building the {what} (to check {why}) failed: {type(exc).__name__}: {detail}",
    )


def check_built(config: ValidatedConfig) -> list[Problem]:
    """Build the data (and the model, when a module is frozen) if the config names a
    metric or freezes a module, and check those names against what was built."""
    from recipe.finetune import uses_split
    from recipe.registry import data_injections, hand_over_data, instantiate

    monitors = _named_monitors(config)
    problems = _finetune_value_problems(config)
    if problems:
        return problems
    freezes = uses_split(config.data)
    late = [
        found
        for section, value in config.data.items()
        if section != "data"
        for found in late_paths(value, (section,))
    ]
    if not monitors and not freezes and not late:
        return []
    why = (
        "the monitored metric"
        if monitors
        else "trainer.freeze_module"
        if freezes
        else f"${{data.{late[0][1]}}}"
    )
    from recipe.data import DataError

    injected = data_injections(config.data)
    try:
        bundle = instantiate(config.data["data"], "data", **injected)
    except DataError as exc:
        return [Problem(config.locate(("data",)), f"data: {exc}")]
    except Exception as exc:  # the user's data function: say so, at the data section
        return [_build_failed(config, "data", why, exc)]

    hand_over_data(config.data["data"], injected, bundle)  # train's build takes it as is
    info = {
        "task": bundle.task,
        "input_shape": list(bundle.input_shape),
        "num_outputs": bundle.num_outputs,
        "class_names": bundle.class_names,
    }
    values = data_values(info)
    problems = [
        Problem(config.locate(path), f"${{data.{name}}}: {why_missing(name, info)}")
        for path, name in late
        if name not in values
    ]
    if problems:
        return problems
    problems.extend(_late_type_problems(config, late, values))
    metrics = logged_metrics(bundle.task, bundle.num_outputs) if monitors else []
    for monitor in monitors:
        if monitor.metric not in metrics:
            problems.append(
                Problem(
                    config.locate(monitor.path),
                    f"{monitor.setting} '{monitor.metric}' is not a metric this "
                    f"{bundle.task} run logs{did_you_mean(monitor.metric, metrics)} "
                    f"(it logs: {', '.join(metrics)})",
                )
            )
    if freezes:
        try:
            model = instantiate(
                fill_late(config.data["model"], values),
                "model",
                input_shape=tuple(bundle.input_shape),
                num_outputs=bundle.num_outputs,
            )
        except Exception as exc:  # the user's model: say so, at the model section
            return [*problems, _build_failed(config, "model", "trainer.freeze_module", exc)]
        problems.extend(_split_problems(config, model))
    return problems


def _late_type_problems(
    config: ValidatedConfig, late: list[tuple[Path, str]], values: dict[str, Any]
) -> list[Problem]:
    """The filled-in ${data.*} values checked against the annotations of the top-level
    references they are arguments of (nested ones are checked as built)."""
    from recipe.builtins import section_kind
    from recipe.registry import check_signature, resolve_target

    problems = []
    seen: set[Path] = set()
    for path, _ in late:
        ref_path: Path = path[:2] if path[0] == "callbacks" else path[:1]
        if len(path) <= len(ref_path) or path[: len(ref_path) + 1] in seen:
            continue
        seen.add(path[: len(ref_path) + 1])
        ref: Any = config.data
        for part in ref_path:
            ref = ref[part]
        key = path[len(ref_path)]
        if not isinstance(ref, dict) or not isinstance(ref.get(TARGET_KEY), str):
            continue
        kind = section_kind(ref_path)
        try:
            target = resolve_target(ref[TARGET_KEY], kind)
        except LookupError:
            continue  # reported by the reference check
        filled = {str(key): fill_late(ref[key], values)}
        for found, message in check_signature(target, filled, kind):
            if found == str(key):
                problems.append(Problem(config.locate((*ref_path, key)), message))
    return problems


def _finetune_value_problems(config: ValidatedConfig) -> list[Problem]:
    """The optimizer's fine-tuning keys, which the recipe reads itself (recipe.finetune)."""
    optimizer = config.data.get("optimizer")
    optimizer = optimizer if isinstance(optimizer, dict) else {}
    problems = []
    mult = optimizer.get("backbone_lr_mult", 1.0)
    if isinstance(mult, bool) or not isinstance(mult, int | float) or mult <= 0:
        problems.append(
            Problem(
                config.locate(("optimizer", "backbone_lr_mult")),
                f"optimizer.backbone_lr_mult must be a number above 0 (the backbone's lr is "
                f"lr x this, e.g. 0.1), got {mult!r}",
            )
        )
    for key in ("freeze_module", "head_module"):
        names = config.data["trainer"].get(key)
        if isinstance(names, list) and not all(isinstance(n, str) and n for n in names):
            problems.append(
                Problem(
                    config.locate(("trainer", key)),
                    f"trainer.{key} must be a submodule's name or a list of names, got {names!r}",
                )
            )
    steps = optimizer.get("unfreeze_warmup_steps", 0)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        problems.append(
            Problem(
                config.locate(("optimizer", "unfreeze_warmup_steps")),
                f"optimizer.unfreeze_warmup_steps must be a whole number of steps, 0 or more, "
                f"got {steps!r}",
            )
        )
    elif steps > 0 and not config.data["trainer"].get("freeze_epochs"):
        problems.append(
            Problem(
                config.locate(("optimizer", "unfreeze_warmup_steps")),
                "optimizer.unfreeze_warmup_steps re-warms the backbone after "
                "trainer.freeze_epochs, which is 0: set freeze_epochs or drop this key",
            )
        )
    return problems


def _split_problems(config: ValidatedConfig, model: Any) -> list[Problem]:
    """The model's head (or the modules freeze_module names) must be found in it."""
    import torch

    from recipe.finetune import FinetuneError, find_split

    trainer = config.data["trainer"]
    if not isinstance(model, torch.nn.Module):
        return []
    try:
        find_split(model, trainer["freeze_module"], trainer["head_module"])
    except FinetuneError as exc:
        path: Path = tuple(exc.key.split("."))
        if not _written(config, path):  # found automatically: point at what asked for it
            asked = ("trainer", "freeze_epochs")
            path = asked if _written(config, asked) else ("optimizer", "backbone_lr_mult")
        return [Problem(config.locate(path), str(exc))]
    return []


def build_module(
    config: ValidatedConfig, cfg: dict[str, Any], data_info: dict[str, Any], bundle: Any
) -> Any:
    """The LightningModule for this config and data, with the data's batch transforms.

    Two mistakes only the built model shows are the config's, not a traceback: a model
    argument its builder refuses (`norm: layr`) is one line at that argument, and a loss
    that cannot take mixup / cutmix's soft targets one line at `loss`.
    """
    import torch

    from recipe.config import ConfigError
    from recipe.module import RecipeModule

    try:
        module = RecipeModule(cfg, data_info)
    except ValueError as exc:
        ref = cfg["model"]
        arguments = (
            [k for k in ref if k != TARGET_KEY and k in str(exc)] if isinstance(ref, dict) else []
        )
        where = config.locate(("model", *arguments[:1]))
        raise ConfigError([Problem(where, f"model: {exc}")]) from None
    module.train_transform = bundle.train_transform
    module.batch_mix = bundle.batch_mix
    loss_class = type(module.loss_fn)
    if (
        bundle.batch_mix is not None
        and loss_class.__module__.startswith("torch.nn")  # a custom loss may take them
        and not isinstance(module.loss_fn, torch.nn.CrossEntropyLoss)
    ):
        message = (
            f"{loss_class.__name__} cannot take the soft targets mixup / cutmix make; "
            "use loss: cross_entropy (or auto)"
        )
        raise ConfigError([Problem(config.locate(("loss",)), message)])
    return module
