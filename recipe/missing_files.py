"""A file a model needs is not there: say which, in one line, instead of a traceback.

A custom model that loads pretrained weights from a path fails with FileNotFoundError once
the file moves — from timm's `load_checkpoint` even a bare `FileNotFoundError()` naming
nothing. `predict`, `--resume` and training report it as one line naming the file (or the
config values that name missing files) and what to do.
"""

from __future__ import annotations

import inspect
import os
from typing import Any

_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".npz", ".npy", ".h5", ".pkl")


class MissingFileError(Exception):
    """One line for the user: which file is missing and who needs it."""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []


def _shown(path: str) -> str:
    if os.path.isabs(path):
        return path
    return f"{path} (relative to {os.getcwd()})"


def _defaults(target: Any) -> list[Any]:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.default for p in parameters if p.default is not inspect.Parameter.empty]


def missing_file_error(
    error: FileNotFoundError, what: str, config: Any, target: Any = None
) -> MissingFileError:
    """The one-line error for `error`, raised while building `what` (the callable `target`)
    from `config`: the file it names, else the paths in its arguments (given, or defaults of
    `target`'s signature) that do not exist."""
    fix = "put it back, or point the config (or custom.py) at where it is now"
    if error.filename:
        return MissingFileError(f"{_shown(str(error.filename))}: not found; {what} needs it; {fix}")
    missing = [
        s
        for s in _strings([config, _defaults(target)])
        if (os.sep in s or s.lower().endswith(_WEIGHT_SUFFIXES)) and not os.path.exists(s)
    ]
    if missing:
        names = ", ".join(_shown(s) for s in missing)
        return MissingFileError(f"{names}: not found; {what} needs it; {fix}")
    return MissingFileError(
        f"{what}: a file it needs was not found (FileNotFoundError naming no file: "
        f"{error!r}); check the paths in its config and custom.py"
    )
