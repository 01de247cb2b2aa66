"""Problems found in a config, each pinned to a place a user can jump to.

Validation collects every problem before failing, so one run of `recipe check` shows them
all, in the `FILE:LINE:COL: message` form editors and terminals make clickable.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Position:
    """A place in a file: 1-based line and column."""

    file: str
    line: int = 1
    col: int = 1


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a config, at one place."""

    position: Position
    message: str

    def __str__(self) -> str:
        p = self.position
        return f"{p.file}:{p.line}:{p.col}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found; never shown as a traceback."""

    def __init__(self, problems: Iterable[Problem], partial: Any = None) -> None:
        self.problems: list[Problem] = sorted(set(problems))
        # The config as far as it could be read (a ValidatedConfig), so the full check can
        # still report what it finds alongside these problems; None after a syntax error.
        self.partial = partial
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A `; did you mean 'x'?` suffix for the closest candidate, or ''."""
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f"; did you mean '{close[0]}'?"
    return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
