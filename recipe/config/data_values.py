"""`${data.num_classes}` and friends: values the recipe learns from the built data.

A model named by dotted path (`torchvision.models.resnet18`, a user's class taking
`**kwargs`) is given nothing the user did not write: the recipe passes `input_shape` and
`num_outputs` only to callables that name them. Everything else the data decides is
mapped explicitly, e.g. `num_classes: ${data.num_classes}`. Those values exist only once
the data is built, after the config is read, so interpolation leaves such a string as
written (a *late* value), the quick check accepts the names below, the full check builds
the data and says which ones this data cannot give, and training fills them in.
Torch-free: the quick check runs as the user types.
"""

from __future__ import annotations

import math
import re
from typing import Any

# Name -> what it is, for messages and the README.
DATA_VALUES: dict[str, str] = {
    "num_classes": "number of classes (classification only)",
    "num_outputs": "outputs of the model's head: classes, or regression targets",
    "input_shape": "one sample's shape as a list, e.g. [64] or [3, 32, 32]",
    "num_features": "features per sample (tables: samples of one dimension only)",
    "in_channels": "channels of an image sample (C, H, W) (images only)",
    "class_names": "the class names, in class-index order (classification only)",
    "task": "'classification' or 'regression'",
}

Where = tuple[str | int, ...]  # a path into the config, as recipe.config.source.Path

_LATE = re.compile(r"\$\{\s*data\.(\w+)\s*\}")


def late_name(value: Any) -> str | None:
    """The data value a config string stands for (`"${data.num_classes}"` -> its name)."""
    if isinstance(value, str):
        match = _LATE.fullmatch(value)
        if match and match.group(1) in DATA_VALUES:
            return match.group(1)
    return None


def holds_late(value: Any) -> bool:
    """Whether `value` is, or holds, a late data value."""
    if isinstance(value, dict):
        return any(holds_late(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_late(v) for v in value)
    return late_name(value) is not None


def late_paths(value: Any, path: Where = ()) -> list[tuple[Where, str]]:
    """Every late value under `value`: (its path, the data value's name)."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in late_paths(v, (*path, k))]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in late_paths(v, (*path, i))]
    name = late_name(value)
    return [(path, name)] if name is not None else []


def data_values(info: dict[str, Any]) -> dict[str, Any]:
    """The values built data gives, from its `task`, `input_shape`, `num_outputs` and
    `class_names` (what train records in predict.json); a name this data cannot give is
    absent."""
    shape = [int(d) for d in info["input_shape"]]
    values: dict[str, Any] = {
        "num_outputs": int(info["num_outputs"]),
        "input_shape": shape,
        "task": info["task"],
    }
    if info["task"] == "classification":
        values["num_classes"] = int(info["num_outputs"])
        values["class_names"] = list(info.get("class_names") or [])
    if len(shape) == 1:
        values["num_features"] = shape[0]
    if len(shape) == 3:
        values["in_channels"] = shape[0]
    return values


def why_missing(name: str, info: dict[str, Any]) -> str:
    """Why `${data.NAME}` has no value for this data, with what to use instead."""
    shape = tuple(int(d) for d in info["input_shape"])
    if name in ("num_classes", "class_names"):
        return f"this data is a {info['task']} task, it has no classes; use ${{data.num_outputs}}"
    if name == "num_features":
        return (
            f"samples have shape {shape}, not a row of features; use ${{data.input_shape}} "
            f"(or {math.prod(shape)} when the model flattens them)"
        )
    return f"samples have shape {shape}, not an image (C, H, W); use ${{data.input_shape}}"


def fill_late(value: Any, values: dict[str, Any]) -> Any:
    """A copy of `value` with every late data value replaced by its value.

    Raises KeyError (the name) for a value this data cannot give; the full check
    reports that before training, so only a changed dataset reaches it.
    """
    if isinstance(value, dict):
        return {k: fill_late(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_late(v, values) for v in value]
    name = late_name(value)
    if name is None:
        return value
    found = values[name]
    return list(found) if isinstance(found, list) else found


def fill_config(config: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """`config` with its late data values filled from the built data's `info` (the data
    section itself, built before they are known, is left as it is)."""
    values = data_values(info)
    return {k: v if k == "data" else fill_late(v, values) for k, v in config.items()}
