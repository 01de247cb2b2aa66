"""Bounds on what reading a config may cost: file size, alias expansion, nesting depth.

A config is a few hundred values, yet YAML lets a few hundred bytes stand for billions:
each alias (`*name`) copies everything its anchor (`&name`) holds, aliases included, so
nine lines of nine aliases each are 9⁹ values. ruamel.yaml itself shares the anchored
node, but every later stage (positions, plain data, overrides, interpolation, dumping)
walks the expanded tree. So the composer counts, as it goes, how many values the document
expands to, and stops at the alias that crosses the bound, before anything is expanded;
memory stays proportional to the text. Files over `MAX_CONFIG_BYTES` are refused before
they are read (a data file given as CONFIG, or opened in the editor).
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent

# The largest config the recipe reads: the shipped ones are under 2 KiB.
MAX_CONFIG_BYTES = 1024 * 1024
# Values aliases (or ${…}) may add to a document: this many, or twice what it writes out,
# whichever is more. A config has a few hundred values in all; a bomb multiplies.
MAX_EXPANDED_VALUES = 10_000


def expansion_limit(written: int) -> int:
    """How many values copies may add to a document that writes `written` values out."""
    return max(MAX_EXPANDED_VALUES, 2 * written)


# Nesting depth; a config nests four or five levels (section, reference, list, reference).
MAX_DEPTH = 50


class YAMLLimitError(Exception):
    """A document refused for its size or shape; `line`/`col` are 1-based, 0 when unknown."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


def _mark_position(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


class BoundedComposer(Composer):
    """ruamel.yaml's composer, counting the values the document expands to.

    Each node counts one; each alias counts every value its anchor expands to, so the
    running total is exactly the size of the fully expanded document. What aliases add is
    bounded (what is written out is bounded by the file's size already). An alias to a
    collection still being composed (a loop) is refused too: it would expand forever.
    """

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader=loader)
        self.expanded = 0
        self.through_aliases = 0
        self.sizes: dict[int, int] = {}

    def compose_document(self: Any) -> Any:
        self.expanded = 0
        self.through_aliases = 0
        self.sizes = {}
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                line, col = _mark_position(event.start_mark)
                size = self.sizes.get(id(target))
                if size is None:
                    raise YAMLLimitError(
                        f"alias '*{event.anchor}' is inside the very '&{event.anchor}' it "
                        "refers to, which would repeat it forever; point it at something "
                        "outside, or write the values out",
                        line,
                        col,
                    )
                self.expanded += size
                self.through_aliases += size
                limit = expansion_limit(self.expanded - self.through_aliases)
                if self.through_aliases > limit:
                    raise YAMLLimitError(
                        f"alias '*{event.anchor}' expands the config past "
                        f"{limit:,} values (each alias copies all that "
                        f"'&{event.anchor}' holds, its own aliases included); a config needs "
                        "far fewer: use fewer nested aliases, or write the values out",
                        line,
                        col,
                    )
            return super().compose_node(parent, index)
        if self.depth >= MAX_DEPTH:
            line, col = _mark_position(self.parser.peek_event().start_mark)
            raise YAMLLimitError(
                f"values nested more than {MAX_DEPTH} levels deep; a config nests a few "
                "levels (section, reference, list): check the brackets",
                line,
                col,
            )
        before = self.expanded
        self.expanded += 1
        node = super().compose_node(parent, index)
        if getattr(node, "anchor", None) is not None:
            self.sizes[id(node)] = self.expanded - before
        return node


def bounded(yaml: YAML) -> YAML:
    """`yaml` with the bounded composer (pure-Python loaders only; the C one composes alone)."""
    yaml.Composer = BoundedComposer
    return yaml


def too_large(size: int) -> str | None:
    """Why a config of `size` bytes is refused, or None."""
    if size <= MAX_CONFIG_BYTES:
        return None
    mib = size / (1024 * 1024)
    shown = f"{mib:.1f} MiB" if mib >= 1 else f"{size / 1024:.0f} KiB"
    return (
        f"file is {shown}, larger than any config ({MAX_CONFIG_BYTES // (1024 * 1024)} MiB "
        "at most): is this the config you meant? Data belongs in a file the data section "
        "names (e.g. data: {_target_: csv, path: ...})"
    )


def decode_utf8(raw: bytes) -> str | YAMLLimitError:
    """`raw` as text, or where (line, column) it stops being UTF-8 and how to fix it."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        col = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        return YAMLLimitError(
            f"byte 0x{raw[exc.start]:02x} is not UTF-8 (the file is in another encoding, "
            "e.g. Latin-1 or UTF-16); save it as UTF-8",
            line,
            col,
        )
