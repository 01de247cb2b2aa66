"""Sweeps: one config and lists of override values expanded into a grid of queued runs.

`optimizer.lr=1e-3,3e-3 model.hidden=64,128` is four runs. Commas split values only at the
top level, so a list literal (`model.layers=[64,128]`) or a quoted string stays one value.
The runs share a sweep id (`sweep-<config>-<time>-<hex>`) in their `run.json`, which is all
it takes to list, stop or resume them together.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Sequence

from autotrain_tui.core.errors import ManagerError


def split_values(text: str) -> list[str]:
    """Split `a,b,[c,d]` at top-level commas (not inside brackets, braces or quotes)."""
    values: list[str] = []
    depth = 0
    quote: str | None = None
    current: list[str] = []
    for char in text:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            values.append("".join(current))
            current = []
            continue
        current.append(char)
    values.append("".join(current))
    return values


def expand_grid(overrides: Sequence[str]) -> list[list[str]]:
    """Every combination of the override values, the last key varying fastest."""
    axes: list[list[str]] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ManagerError(f"not an override (expected key=value): {item!r}")
        values = split_values(value)
        if any(not v.strip() for v in values):
            raise ManagerError(f"empty value in sweep override {item!r}")
        axes.append([f"{key}={v}" for v in values])
    return [list(point) for point in itertools.product(*axes)]


def new_sweep_id(config_stem: str, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"sweep-{config_stem}-{stamp}-{secrets.token_hex(2)}"
