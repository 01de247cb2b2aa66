"""Command-line overrides: `key.path=value`, the value typed as YAML.

`trainer.max_epochs=3` gives an int, `optimizer.lr=3e-4` a float, `model.hidden=[128,64]` a
list, `model=cnn` replaces a whole reference by a short name. Problems are reported at
`<command line>:1:COL`, COL counting characters across the space-joined overrides, so an
editor or terminal can point at the offending argument.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from recipe.config.errors import ConfigError, Position, Problem, non_ascii_note
from recipe.config.limits import YAMLLimitError, bounded
from recipe.config.schema import SCHEMA
from recipe.config.source import Path, new_yaml

COMMAND_LINE = "<command line>"
_KEY_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$|^\d+$")


@dataclass(frozen=True)
class Override:
    """One parsed `key.path=value` argument and where it sits on the command line."""

    raw: str
    path: Path
    value: Any
    position: Position


def _parse_value(text: str) -> Any:
    # Bounded like a config file: an alias bomb fits on a command line too.
    return bounded(YAML(typ="safe", pure=True)).load(io.StringIO(text))


def parse_overrides(args: Sequence[str]) -> list[Override]:
    """Parse every override, collecting all problems before raising ConfigError."""
    overrides, problems = parse_overrides_collecting(args)
    if problems:
        raise ConfigError(problems)
    return overrides


def parse_overrides_collecting(args: Sequence[str]) -> tuple[list[Override], list[Problem]]:
    """The overrides that parse, and a problem for each that does not."""
    overrides: list[Override] = []
    problems: list[Problem] = []
    offset = 0
    for raw in args:
        position = Position(COMMAND_LINE, 1, offset + 1)
        offset += len(raw) + 1
        key, sep, value_text = raw.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(
                Problem(
                    position,
                    f"override '{raw}' must be KEY=VALUE, e.g. trainer.max_epochs=3",
                )
            )
            continue
        segments = key.split(".")
        if not key.isascii():
            problems.append(
                Problem(
                    Position(COMMAND_LINE, 1, position.col + _first_non_ascii(key)),
                    f"override '{raw}': key '{key}'"
                    + non_ascii_note(key, _known_keys(), column=position.col),
                )
            )
            continue
        if not all(_KEY_SEGMENT.match(s) for s in segments):
            problems.append(
                Problem(
                    position,
                    f"override '{raw}': '{key}' is not a key path; "
                    "write dotted names such as optimizer.lr",
                )
            )
            continue
        try:
            value = _parse_value(value_text)
        except YAMLLimitError as exc:
            problems.append(Problem(position, f"override '{raw[:40]}': {exc.message}"))
            continue
        except YAMLError as exc:
            detail = str(getattr(exc, "problem", None) or exc).splitlines()[0]
            problems.append(
                Problem(
                    Position(COMMAND_LINE, 1, position.col + len(key) + 1),
                    f"override '{raw}': cannot read the value as YAML ({detail}); "
                    "quote strings and close brackets, e.g. model.hidden=[128,64]",
                )
            )
            continue
        path: Path = tuple(int(s) if s.isdigit() else s for s in segments)
        overrides.append(Override(raw, path, value, position))
    return overrides, problems


def _first_non_ascii(text: str) -> int:
    return next(i for i, ch in enumerate(text) if not ch.isascii())


def _known_keys() -> list[str]:
    """Every `section.key` (and reference section) a config can set, for look-alike hints."""
    keys: list[str] = []
    for section, spec in SCHEMA.items():
        keys.append(section)
        if isinstance(spec, dict):
            keys.extend(f"{section}.{key}" for key in spec)
    return keys


def set_path(
    data: Any, path: Path, value: Any, new_mapping: Callable[[], dict[str, Any]] = dict
) -> str | None:
    """Set `path` in nested dicts/lists, creating mappings; returns a problem text or None."""
    node = data
    for depth, segment in enumerate(path[:-1]):
        nxt = _child(node, segment)
        if nxt is _MISSING:
            if isinstance(node, dict):
                node[segment] = new_mapping()
                nxt = node[segment]
            else:
                return _bad_step(path, depth)
        elif not isinstance(nxt, (dict, list)):
            if isinstance(node, dict) and isinstance(nxt, str):
                # `model=cnn` earlier, or a shorthand reference: expand it to a mapping.
                node[segment] = new_mapping()
                node[segment]["_target_"] = nxt
                nxt = node[segment]
            else:
                where = ".".join(str(s) for s in path[: depth + 1])
                return f"'{where}' is {type(nxt).__name__} {nxt!r}, not a mapping or list"
        node = nxt
    last = path[-1]
    if isinstance(node, dict):
        node[last] = value
        return None
    if isinstance(node, list) and isinstance(last, int):
        if last >= len(node):
            return f"index {last} is past the end of a list of {len(node)}"
        node[last] = value
        return None
    return _bad_step(path, len(path) - 1)


_MISSING = object()


def _child(node: Any, segment: str | int) -> Any:
    if isinstance(node, dict):
        return (
            node.get(segment, _MISSING)
            if isinstance(segment, str)
            else node.get(str(segment), _MISSING)
        )
    if isinstance(node, list) and isinstance(segment, int):
        return node[segment] if segment < len(node) else _MISSING
    return _MISSING


def _bad_step(path: Path, depth: int) -> str:
    where = ".".join(str(s) for s in path[: depth + 1])
    return f"cannot set '{where}': its parent is a list, index it with a number"


def apply_overrides(data: dict[str, Any], overrides: Sequence[Override]) -> list[Problem]:
    """Apply overrides to plain data in place; returns the problems (bad paths)."""
    problems = []
    for override in overrides:
        error = set_path(data, override.path, override.value)
        if error:
            problems.append(Problem(override.position, f"override '{override.raw}': {error}"))
    return problems


def _to_round_trip(value: Any) -> Any:
    if isinstance(value, dict):
        result = CommentedMap()
        for k, v in value.items():
            result[k] = _to_round_trip(v)
        return result
    if isinstance(value, list):
        seq = CommentedSeq([_to_round_trip(v) for v in value])
        if all(not isinstance(v, (dict, list)) for v in value):
            seq.fa.set_flow_style()
        return seq
    return value


def apply_overrides_to_text(text: str, overrides: Sequence[str], file: str = "config.yaml") -> str:
    """The config text with overrides applied, comments and key order kept.

    Used to write a run's `config.yaml` exactly as launched. Each overridden key gets an
    end-of-line comment so a reader sees what came from the command line.
    """
    from recipe.config.source import parse_config_text

    parsed = parse_overrides(overrides)
    document = parse_config_text(text, file).document
    problems = []
    for override in parsed:
        error = set_path(document, override.path, _to_round_trip(override.value), CommentedMap)
        if error:
            problems.append(Problem(override.position, f"override '{override.raw}': {error}"))
            continue
        parent = document
        for segment in override.path[:-1]:
            parent = parent[segment]
        if isinstance(parent, CommentedMap):
            parent.yaml_add_eol_comment("set on the command line", override.path[-1])
    if problems:
        raise ConfigError(problems)
    out = io.StringIO()
    new_yaml().dump(document, out)
    return out.getvalue()
