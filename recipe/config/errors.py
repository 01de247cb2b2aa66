"""Problems found in a config, each pinned to a place a user can jump to.

Validation collects every problem before failing, so one run of `recipe check` shows them
all, in the `FILE:LINE:COL: message` form editors and terminals make clickable.
"""

from __future__ import annotations

import difflib
import unicodedata
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


def non_ascii_note(word: str, candidates: Iterable[str], column: int | None = None) -> str:
    """Why `word` is not the name it looks like: which non-ASCII character, and where.

    A Cyrillic 'а' or a Greek 'ο' renders exactly like its Latin twin, so a suggestion of
    the right name would look identical to what the user typed. '' when `word` is ASCII.
    """
    index = next((i for i, ch in enumerate(word) if not ch.isascii()), None)
    if index is None:
        return ""
    char = word[index]
    what = f"'{char}' (U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')})"
    where = f"at column {column + index}" if column is not None else f"as character {index + 1}"
    twin = next(
        (
            c
            for c in candidates
            if len(c) == len(word)
            and all(a == b or not a.isascii() for a, b in zip(word, c, strict=True))
        ),
        None,
    )
    if twin is not None:
        return (
            f"; it has a non-ASCII look-alike character {where}: {what}, where "
            f"'{twin}' has '{twin[index]}'; retype it as '{twin}'"
        )
    return f"; it has a non-ASCII character {where}: {what}; names are plain ASCII"


def did_you_mean(word: str, candidates: Iterable[str], column: int | None = None) -> str:
    """A `; did you mean 'x'?` suffix for the closest candidate, or ''.

    A word with a non-ASCII character gets `non_ascii_note` instead (with the column of
    that character when `column`, where the word starts, is given).
    """
    candidates = list(candidates)
    if not word.isascii():
        return non_ascii_note(word, candidates, column)
    close = difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f"; did you mean '{close[0]}'?"
    return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
