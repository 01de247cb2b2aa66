"""Parse a YAML config into plain data plus a map of where every value came from.

ruamel.yaml's round-trip loader records the line and column of each key and value; we copy
them into a `{path: Position}` table so later stages (overrides, interpolation, schema,
reference checks) can report problems at the right line without touching ruamel nodes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from recipe.config.errors import ConfigError, Position, Problem

Path = tuple[str | int, ...]


def new_yaml() -> YAML:
    """A round-trip YAML instance with the project's formatting habits."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.representer.add_representer(
        type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


@dataclass
class ConfigSource:
    """A parsed config: plain data, the round-trip document, and positions.

    `value_at[path]` is where a value starts, `key_at[path]` where its key is written.
    Paths are tuples of mapping keys and list indices, e.g. `("model", "hidden", 0)`.
    """

    file: str
    text: str
    document: Any
    data: dict[str, Any]
    value_at: dict[Path, Position] = field(default_factory=dict)
    key_at: dict[Path, Position] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Position:
        """The best position for `path`: itself, else its nearest located ancestor."""
        table = self.key_at if key else self.value_at
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.key_at:
                return self.key_at[probe]
            probe = probe[:-1]
        return Position(self.file, 1, 1)


def to_plain(node: Any) -> Any:
    """Round-trip containers to dicts and lists (scalars keep their Python type)."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if hasattr(node, "__float__") and type(node).__name__ == "ScalarFloat":
        return float(node)
    if type(node).__name__ in ("ScalarInt", "HexInt", "OctalInt", "BinaryInt", "ScalarBoolean"):
        return bool(node) if type(node).__name__ == "ScalarBoolean" else int(node)
    if isinstance(node, str):
        return str(node)
    return node


def _record(
    node: Any, path: Path, file: str, value_at: dict[Path, Position], key_at: dict[Path, Position]
) -> None:
    if isinstance(node, CommentedMap):
        for key in node:
            child = (*path, str(key))
            try:
                kl, kc = node.lc.key(key)
                key_at[child] = Position(file, kl + 1, kc + 1)
                vl, vc = node.lc.value(key)
                value_at[child] = Position(file, vl + 1, vc + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            _record(node[key], child, file, value_at, key_at)
    elif isinstance(node, CommentedSeq):
        for index, item in enumerate(node):
            child = (*path, index)
            try:
                il, ic = node.lc.item(index)
                value_at[child] = Position(file, il + 1, ic + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            _record(item, child, file, value_at, key_at)


def parse_config_text(text: str, file: str) -> ConfigSource:
    """Parse YAML text; a syntax error becomes a ConfigError at its line and column."""
    try:
        document = new_yaml().load(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        hint = ""
        if "duplicate key" in what:
            hint = "; each key may appear once per mapping: remove or rename one"
        elif "tab" in what.lower():
            hint = "; indent with spaces, not tabs"
        else:
            hint = "; check the indentation and brackets on this line and the one before"
        problem = Problem(Position(file, line, col), f"YAML syntax error: {what}{hint}")
        raise ConfigError([problem]) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. bad encodings)
        raise ConfigError([Problem(Position(file), f"cannot parse YAML: {exc}")]) from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ConfigError(
            [
                Problem(
                    Position(file),
                    "a config must be a mapping of sections (data:, model:, …), "
                    f"not a {type(document).__name__}",
                )
            ]
        )
    value_at: dict[Path, Position] = {}
    key_at: dict[Path, Position] = {}
    _record(document, (), file, value_at, key_at)
    return ConfigSource(file, text, document, to_plain(document), value_at, key_at)


def read_config(path: str, display: str | None = None) -> ConfigSource:
    """Read and parse a config file; a missing or unreadable file is a ConfigError."""
    shown = display or path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(
            [Problem(Position(shown), "config file not found; check the path")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(Position(shown), f"cannot read config: {exc}")]) from None
    return parse_config_text(text, shown)
