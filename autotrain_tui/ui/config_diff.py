"""The keys that differ between runs' configs (as launched, overrides applied).

Flattens each run's `config.yaml` to dotted keys (`optimizer.lr`) and keeps only the keys
whose values are not all equal — the part of a comparison worth reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recipe.config import ConfigError, read_config

MISSING = "—"


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` → `{"a.b": 1}`; lists stay values."""
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten(value, name))
        return out
    return {prefix: data} if prefix else {}


def read_flat_config(path: Path) -> dict[str, Any]:
    """A run's config as dotted keys; {} for one that cannot be read or parsed.

    Read through the recipe's bounded parser: a run directory may be a copy from anywhere,
    and an alias bomb in its config.yaml must not hang the compare screen or grow the UI.
    """
    try:
        source = read_config(str(path))
    except ConfigError:  # missing, unreadable, oversized, not YAML: no keys to compare
        return {}
    return flatten(source.data)


def differing_keys(configs: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """(key, one shown value per config) for every key whose values differ, sorted."""
    keys = sorted(set().union(*configs)) if configs else []
    out = []
    for key in keys:
        values = [config.get(key, MISSING) for config in configs]
        if any(value != values[0] for value in values[1:]):
            out.append((key, [_show(v) for v in values]))
    return out


def _show(value: Any) -> str:
    if value is MISSING:
        return MISSING
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
