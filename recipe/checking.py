"""The checks `train` and `check` run before anything heavy: quick, full, and a sweep's grid.

Everything a config can get wrong is reported at once, each problem at its line, so a typo
never costs a training run.
"""

from __future__ import annotations

import os
import sys

from recipe import EXIT_CONFIG_ERROR, EXIT_OK
from recipe.config import ConfigError, Problem, ValidatedConfig, check_source
from recipe.config.custom_scan import scan_custom_file
from recipe.config.source import read_config
from recipe.registry import check_references


def print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem(s) found; nothing was trained.", file=sys.stderr)


def validate(config_path: str, overrides: list[str], custom: str | None = None) -> ValidatedConfig:
    """The quick check plus the full reference check; raises ConfigError with everything.

    `custom`: the custom.py to check against and import instead of the project's (a run's
    own copy). When the quick check already failed, the full check still runs on what
    could be read, so one run reports every problem (a place already reported is not
    reported twice).
    """
    try:
        config = _quick_check(config_path, overrides, custom)
    except ConfigError as quick:
        if quick.partial is None:
            raise
        try:
            check_references(quick.partial)
        except ConfigError as full:
            seen = {p.position for p in quick.problems}
            more = [p for p in full.problems if p.position not in seen]
            raise ConfigError([*quick.problems, *more]) from None
        raise
    check_references(config)
    return config


def _quick_check(config_path: str, overrides: list[str], custom: str | None) -> ValidatedConfig:
    if custom is None:
        return check_source(read_config(config_path), overrides)
    display = os.path.relpath(custom)
    try:
        config = check_source(
            read_config(config_path), overrides, custom=scan_custom_file(custom, display)
        )
    except ConfigError as exc:
        if exc.partial is not None:
            exc.partial.custom_path, exc.partial.custom_display = custom, display
        raise
    config.custom_path, config.custom_display = custom, display
    return config


def check_grid(config_path: str, overrides: list[str], grid_json: str) -> int:
    """Validate every point of a sweep in one process (custom.py and torch load once).

    A problem common to all points (one in the config file) is printed once; a problem of
    one point names it, so the user knows which value to fix.
    """
    import json

    try:
        points = json.loads(grid_json)
        if not isinstance(points, list) or not all(
            isinstance(p, list) and all(isinstance(o, str) for o in p) for p in points
        ):
            raise ValueError("expected a list of lists of strings")
    except ValueError as exc:
        print(f"--grid: not a JSON list of override lists ({exc})", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    # problem text -> the points it occurs in (a dict keeps first-seen order)
    found: dict[str, list[int]] = {}
    for index, point in enumerate(points, start=1):
        try:
            validate(config_path, [*overrides, *point])
        except ConfigError as exc:
            for problem in exc.problems:
                found.setdefault(str(problem), []).append(index)
    for line, where in found.items():
        if len(where) < len(points):  # not common to every point: say which ones
            named = ", ".join(str(i) for i in where[:10]) + (" …" if len(where) > 10 else "")
            example = " ".join(points[where[0] - 1])
            line += f" (sweep point{'s' if len(where) > 1 else ''} {named}; e.g. {example})"
        print(line, file=sys.stderr)
    if found:
        print(f"{len(found)} problem(s) found in {len(points)} point(s).", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    return EXIT_OK
