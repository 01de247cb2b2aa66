"""The search-space syntax of `sweep CONFIG --trials N`: pure parsing, no torch, no optuna.

    optimizer.lr=loguniform(1e-4,1e-1)   a float, log-uniform between the bounds
    model.dropout=uniform(0,0.5)         a float, uniform between the bounds
    dataloader.batch_size=int(16,128)    a whole number, both bounds included
    model.hidden=choice([64],[128])      one of the values (a plain `k=a,b` is a choice too)
    trainer.max_epochs=9                 fixed: the same in every trial

A search sweep's sampler picks each trial's values (`sweep_driver`); this module only turns
the command line into a `SearchSpace` and says, in one line, what is wrong with an item and
how to write it instead. The UI and the CLI parse with it without importing optuna.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.sweep import split_values

CHOICE, UNIFORM, LOGUNIFORM, INT = "choice", "uniform", "loguniform", "int"
FUNCTIONS = (CHOICE, UNIFORM, LOGUNIFORM, INT)
_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\((.*)\)\s*$", re.DOTALL)
_SYNTAX = "choice(a,b), uniform(lo,hi), loguniform(lo,hi) or int(lo,hi)"


@dataclass(frozen=True)
class Param:
    """One searched key: its distribution and bounds (or choices, kept as override text)."""

    key: str
    kind: str  # one of FUNCTIONS
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 0.0

    def spec(self) -> str:
        """The item's distribution as written in sweep.json's `space` (`loguniform(1e-4,0.1)`)."""
        if self.kind == CHOICE:
            return f"choice({','.join(self.choices)})"
        if self.kind == INT:
            return f"int({int(self.low)},{int(self.high)})"
        return f"{self.kind}({self.low:g},{self.high:g})"

    def corners(self) -> list[str]:
        """Values that stand for the whole range when a config is checked before the sweep:
        every choice, or both bounds."""
        if self.kind == CHOICE:
            return list(self.choices)
        return [format_value(self, self.low), format_value(self, self.high)]


@dataclass(frozen=True)
class SearchSpace:
    """What `sweep --trials` searches, and the overrides every trial shares."""

    params: tuple[Param, ...]
    fixed: tuple[str, ...]

    def spec(self) -> dict[str, str]:
        return {p.key: p.spec() for p in self.params}

    def check_points(self) -> list[list[str]]:
        """A few points (each param at each of its corners, the others at their first) that
        exercise every value kind the sampler can produce: what `recipe check --grid` gets."""
        base = {p.key: p.corners()[0] for p in self.params}
        points = [[*self.fixed, *(f"{k}={v}" for k, v in base.items())]]
        for param in self.params:
            for corner in param.corners()[1:]:
                point = {**base, param.key: corner}
                points.append([*self.fixed, *(f"{k}={v}" for k, v in point.items())])
        return points


def format_value(param: Param, value: object) -> str:
    """A sampled value as override text: choices as written, whole numbers plain, floats in
    full precision (the run trains on exactly the value the study records)."""
    if param.kind == CHOICE:
        return str(value)
    if param.kind == INT:
        return str(int(value))  # type: ignore[call-overload]
    return repr(float(value))  # type: ignore[arg-type]


def is_search(overrides: Sequence[str]) -> bool:
    """Whether any item uses a search function (`k=uniform(…)`), so the sweep needs --trials."""
    for item in overrides:
        match = _CALL.match(item.partition("=")[2])
        if match and match.group(1) in FUNCTIONS:
            return True
    return False


def _bound(text: str, item: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ManagerError(f"{item}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ManagerError(f"{item}: the bounds must be finite numbers, not {text.strip()!r}")
    return value


def parse_param(item: str) -> Param | None:
    """The `Param` of one `key=...` item, or None when it is a fixed override."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ManagerError(f"not an override (expected key=value): {item!r}")
    match = _CALL.match(value)
    if match is None:
        values = split_values(value)
        if len(values) == 1:
            return None
        if any(not v.strip() for v in values):
            raise ManagerError(f"empty value in sweep override {item!r}")
        return Param(key, CHOICE, choices=tuple(values))
    name, inner = match.group(1), match.group(2)
    if name not in FUNCTIONS:
        raise ManagerError(f"{item}: unknown function {name!r}; write {_SYNTAX}")
    args = split_values(inner)
    if name == CHOICE:
        if any(not a.strip() for a in args):
            raise ManagerError(f"{item}: an empty choice; write choice(a,b,...)")
        return Param(key, CHOICE, choices=tuple(a.strip() for a in args))
    if len(args) != 2:
        raise ManagerError(f"{item}: {name} takes two bounds, e.g. {key}={name}(1,10)")
    low, high = _bound(args[0], item), _bound(args[1], item)
    if name == INT and not (low.is_integer() and high.is_integer()):
        raise ManagerError(f"{item}: int bounds must be whole numbers, e.g. {key}=int(16,128)")
    if low >= high:
        raise ManagerError(
            f"{item}: the low bound must be below the high one, e.g. {key}={name}({args[1]},"
            f"{args[0]})"
            if low > high
            else f"{item}: the bounds are equal; write {key}={args[0].strip()} for a fixed value"
        )
    if name == LOGUNIFORM and low <= 0:
        raise ManagerError(
            f"{item}: loguniform needs bounds above 0; use uniform({args[0].strip()},"
            f"{args[1].strip()}) or a positive low bound"
        )
    return Param(key, name, low=low, high=high)


def parse_space(overrides: Sequence[str]) -> SearchSpace:
    """Split a sweep's items into searched params and fixed overrides (in their order)."""
    params: list[Param] = []
    fixed: list[str] = []
    seen: set[str] = set()
    for item in overrides:
        param = parse_param(item)
        key = item.partition("=")[0].strip()
        if key in seen:
            raise ManagerError(f"{item}: {key} is given twice; keep one item per key")
        seen.add(key)
        if param is None:
            fixed.append(item)
        else:
            params.append(param)
    if not params:
        raise ManagerError(
            f"a search sweep needs at least one searched key ({_SYNTAX}, or k=a,b), e.g. "
            "optimizer.lr=loguniform(1e-4,1e-1)"
        )
    return SearchSpace(tuple(params), tuple(fixed))
