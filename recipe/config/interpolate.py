"""`${section.key}` interpolation over a whole config.

A string that is exactly `${a.b}` takes the referenced value with its type (a list stays a
list); `${a.b}` inside a longer string is replaced by the value's text. `$${...}` escapes a
literal `${...}`. Missing targets and cycles are reported at the string that refers.
`${data.num_classes}` and the other values of `recipe.config.data_values` are known only
once the data is built: unless the data section has such a key, they stay as written, to
be filled in by training.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from recipe.config.data_values import DATA_VALUES, late_name
from recipe.config.errors import Position, Problem, did_you_mean
from recipe.config.limits import MAX_CONFIG_BYTES, expansion_limit
from recipe.config.source import Path


class _Unresolved:
    """Stands in for a value whose interpolation failed, so later checks skip it."""

    def __repr__(self) -> str:
        return "<unresolved>"

    def __deepcopy__(self, memo: dict[int, Any]) -> _Unresolved:
        return self  # one marker, so `is UNRESOLVED` holds in copies of the config too


UNRESOLVED: Any = _Unresolved()


def contains_unresolved(value: Any) -> bool:
    """Whether `value` is, or holds, a failed interpolation (already reported)."""
    if value is UNRESOLVED:
        return True
    if isinstance(value, dict):
        return any(contains_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unresolved(v) for v in value)
    return False


_REFERENCE = re.compile(r"(?<!\$)\$\{([^${}]*)\}")


def _lookup(data: Any, dotted: str) -> tuple[Any, Path] | str:
    node = data
    path: list[str | int] = []
    for segment in dotted.split("."):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
            path.append(segment)
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
            path.append(int(segment))
        else:
            here = ".".join(str(p) for p in path)
            options = [f"{here}.{k}" if here else k for k in node] if isinstance(node, dict) else []
            return f"no key '{dotted}'{did_you_mean(dotted, options)}"
    return node, tuple(path)


def _count_values(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count_values(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_count_values(v) for v in value)
    return 1


def resolve_interpolations(
    data: dict[str, Any], locate: Callable[[Path], Position]
) -> tuple[dict[str, Any], list[Problem]]:
    """A copy of `data` with every `${…}` resolved, and the problems found."""
    problems: list[Problem] = []
    resolved_cache: dict[Path, Any] = {}
    # Like YAML aliases, each ${…} copies what it refers to, so nested ones multiply: the
    # values and characters they produce are counted, and the one past the bound refused.
    sizes: dict[Path, int] = {}
    value_limit = expansion_limit(_count_values(data))
    produced = {"values": 0, "chars": 0}
    exhausted: list[bool] = []

    def charge(kind: str, amount: int, limit: int, dotted: str, path: Path) -> bool:
        """Count what an interpolation produces; False (reported once) past the bound."""
        if exhausted:
            return False
        produced[kind] += amount
        if produced[kind] <= limit:
            return True
        exhausted.append(True)
        what = f"{limit:,} values" if kind == "values" else f"{limit // 2**20} MiB of text"
        problems.append(
            Problem(
                locate(path),
                f"interpolation '${{{dotted}}}' expands the config past {what} (each ${{…}} "
                "copies all it refers to, its own ${…} included); a config needs far fewer: "
                "use fewer nested interpolations",
            )
        )
        return False

    reported_cycles: set[frozenset[Path]] = set()

    def report_cycle(stack: tuple[Path, ...], target_path: Path, path: Path) -> None:
        # The same loop is met again from each of its members: report it once, where the
        # walk (in the file's order) first met it.
        start = stack.index(target_path) if target_path in stack else len(stack) - 1
        members: list[Path] = []
        for member in stack[start:]:
            if not members or members[-1] != member:
                members.append(member)
        if frozenset(members) in reported_cycles:
            return
        reported_cycles.add(frozenset(members))
        chain = " -> ".join(".".join(map(str, p)) for p in (*members, target_path))
        problems.append(
            Problem(
                locate(members[0]),
                f"interpolation cycle: {chain}; give one of them a value instead of a ${{…}}",
            )
        )

    def resolve_node(node: Any, path: Path, stack: tuple[Path, ...]) -> Any:
        if isinstance(node, dict):
            return {k: resolve_node(v, (*path, k), stack) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve_node(v, (*path, i), stack) for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            return resolve_string(node, path, stack)
        return node

    def resolve_target(dotted: str, path: Path, stack: tuple[Path, ...]) -> Any:
        found = _lookup(data, dotted.strip())
        if isinstance(found, str):
            late = late_name(f"${{{dotted}}}")
            if late is not None and path[:1] != ("data",):
                return f"${{data.{late}}}"  # filled in once the data is built
            if late is not None:
                found = "the data's values are known only once the data is built, not inside it"
            elif dotted.strip().startswith("data."):
                if "did you" not in found:
                    wanted = dotted.strip()[len("data.") :]
                    hint = did_you_mean(wanted, DATA_VALUES)
                    found += re.sub(r"'(\w+)'", r"'data.\1'", hint)
                found += f" (values the data gives: {', '.join(DATA_VALUES)})"
            problems.append(Problem(locate(path), f"interpolation '${{{dotted}}}': {found}"))
            return UNRESOLVED
        value, target_path = found
        if target_path in stack or target_path == path[: len(target_path)]:
            report_cycle(stack, target_path, path)
            return UNRESOLVED
        if target_path not in resolved_cache:
            if exhausted:
                return UNRESOLVED
            resolved_cache[target_path] = resolve_node(value, target_path, (*stack, target_path))
        result = resolved_cache[target_path]
        if target_path not in sizes:
            sizes[target_path] = _count_values(result)
        if not charge("values", sizes[target_path], value_limit, dotted, path):
            return UNRESOLVED
        return copy.deepcopy(result)

    def resolve_string(text: str, path: Path, stack: tuple[Path, ...]) -> Any:
        stack = (*stack, path)
        whole = _REFERENCE.fullmatch(text)
        if whole:
            return resolve_target(whole.group(1), path, stack)

        def substitute(match: re.Match[str]) -> str:
            value = resolve_target(match.group(1), path, stack)
            if late_name(value) is not None:
                problems.append(
                    Problem(
                        locate(path),
                        f"interpolation '${{{match.group(1)}}}' inside a longer string: a value "
                        f"of the data is used whole, e.g. 'num_classes: {value}'",
                    )
                )
                value = UNRESOLVED
            piece = "" if value is None or value is UNRESOLVED else str(value)
            fits = charge("chars", len(piece), MAX_CONFIG_BYTES, match.group(1), path)
            failed.append(value is UNRESOLVED or not fits)
            return piece if fits else ""

        failed: list[bool] = []
        text = _REFERENCE.sub(substitute, text).replace("$${", "${")
        return UNRESOLVED if any(failed) else text

    result = resolve_node(data, (), ())
    return result, problems
