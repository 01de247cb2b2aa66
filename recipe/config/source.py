"""Parse a YAML config into plain data plus a map of where every value came from.

ruamel.yaml's round-trip loader records the line and column of each key and value; we copy
them into a `{path: Position}` table so later stages (overrides, interpolation, schema,
reference checks) can report problems at the right line without touching ruamel nodes.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from recipe.config.errors import ConfigError, Position, Problem
from recipe.config.limits import (
    MAX_CONFIG_BYTES,
    YAMLLimitError,
    bounded,
    decode_utf8,
    too_large,
)

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

    def word_start(self, position: Position, word: str) -> int | None:
        """The column where `word` is written at or after `position` on its line, if it is."""
        if position.file != self.file:
            return None
        lines = self.text.splitlines()
        line = lines[position.line - 1] if 0 < position.line <= len(lines) else ""
        start = line.find(word, position.col - 1)
        return start + 1 if start >= 0 else None


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


def _top_level_problem(document: Any) -> str:
    if isinstance(document, list):
        got = "a list; write 'section: value' lines, without a leading '- '"
    else:
        shown = repr(document if not isinstance(document, str) else str(document))
        got = f"the single value {shown[:60]}"
    return f"the top level must be a mapping of sections (data:, model:, trainer:, …), got {got}"


def parse_config_text(text: str, file: str) -> ConfigSource:
    """Parse YAML text; a syntax error becomes a ConfigError at its line and column.

    Text over the size bound, and aliases that would expand it past the value bound, are
    refused before anything is expanded (see recipe.config.limits).
    """
    # A character is 1 to 4 bytes: encode only when the length alone cannot tell.
    size = len(text)
    if MAX_CONFIG_BYTES // 4 < size <= MAX_CONFIG_BYTES:
        size = len(text.encode("utf-8", errors="replace"))
    refused = too_large(size)
    if refused:
        raise ConfigError([Problem(Position(file), refused)])
    try:
        document = bounded(new_yaml()).load(io.StringIO(text))
    except YAMLLimitError as exc:
        where = Position(file, exc.line or 1, exc.col or 1)
        raise ConfigError([Problem(where, exc.message)]) from None
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
        raise ConfigError([Problem(Position(file), _top_level_problem(document))])
    value_at: dict[Path, Position] = {}
    key_at: dict[Path, Position] = {}
    _record(document, (), file, value_at, key_at)
    return ConfigSource(file, text, document, to_plain(document), value_at, key_at)


def read_config(path: str, display: str | None = None) -> ConfigSource:
    """Read and parse a config file; a missing, unreadable or oversized file is a ConfigError."""
    shown = display or path

    def refuse(message: str, line: int = 1, col: int = 1) -> ConfigError:
        return ConfigError([Problem(Position(shown, line, col), message)])

    if os.path.isdir(path):
        configs = sorted(n for n in os.listdir(path) if n.endswith((".yaml", ".yml")))
        listing = ", ".join(os.path.join(shown, n) for n in configs[:20]) or "none"
        more = f" and {len(configs) - 20} more" if len(configs) > 20 else ""
        raise refuse(f"is a directory, not a config; give one of its configs: {listing}{more}")
    try:
        with open(path, "rb") as handle:
            refused = too_large(os.fstat(handle.fileno()).st_size)
            if refused:
                raise refuse(refused)
            raw = handle.read(MAX_CONFIG_BYTES + 1)  # a file growing while read stays bounded
    except FileNotFoundError:
        raise refuse("config file not found; check the path") from None
    except OSError as exc:
        raise refuse(f"cannot read config: {exc.strerror or exc}") from None
    text = decode_utf8(raw)
    if isinstance(text, YAMLLimitError):
        raise refuse(text.message, text.line, text.col)
    return parse_config_text(text, shown)
