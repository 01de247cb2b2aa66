"""Does a YAML value fit a parameter's type annotation? — conservatively.

The full check already knows each argument a config passes is accepted; this module adds
"and has a plausible type", so `hidden: 64` for a `Sequence[int]`, or `lr: fast` for a
float, is reported before training instead of as a traceback minutes later.

Only what YAML can produce is judged (null, bool, int, float, str, lists, mappings). An
annotation this module does not understand (a user's class, a Callable, a Protocol…)
accepts anything: a false alarm would be worse than a missed one. A torch Tensor is the one
foreign type understood: YAML never produces one, so `float | Tensor` means "a number".
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

_WORDS = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    type(None): "null",
    list: "a list",
    dict: "a mapping",
}
_SEQUENCES = (
    list,
    tuple,
    collections.abc.Sequence,
    collections.abc.Iterable,
    collections.abc.Collection,
    collections.abc.MutableSequence,
)


class _Unknown(Exception):
    """The annotation is beyond what we judge: accept the value."""


def type_hints(target: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations of a function or of a class's __init__ ({} when unresolvable)."""
    function = target.__init__ if inspect.isclass(target) else target
    try:
        return typing.get_type_hints(function)
    except Exception:
        return {}


def describe(value: Any) -> str:
    word = _WORDS.get(type(value), type(value).__name__)
    return f"{value!r} ({word})" if not isinstance(value, (list, dict)) else word


def _is_tensor(annotation: Any) -> bool:
    return getattr(annotation, "__name__", "") == "Tensor" and "torch" in getattr(
        annotation, "__module__", ""
    )


def _fits(value: Any, annotation: Any) -> bool:
    if annotation is Any or annotation is object:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if not _is_tensor(a)]
        unknown = 0
        for option in options:
            try:
                if _fits(value, option):
                    return True
            except _Unknown:
                unknown += 1
        if unknown:
            raise _Unknown
        return False
    if origin is typing.Literal:
        return value in args
    if _is_tensor(annotation):
        return False
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if annotation in (list, tuple) or origin in _SEQUENCES or annotation in _SEQUENCES:
        if isinstance(value, str) or not isinstance(value, list):
            return False
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item = args[0] if args else Any
            return all(_fits(v, item) for v in value)
        if origin is tuple:
            return len(value) == len(args) and all(
                _fits(v, a) for v, a in zip(value, args, strict=True)
            )
        return all(_fits(v, args[0]) for v in value)
    if annotation is dict or origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    raise _Unknown


def _expected(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_expected(a) for a in args if not _is_tensor(a))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if annotation in _WORDS:
        return _WORDS[annotation]
    if origin is tuple and args and args[-1] is not Ellipsis:
        return f"a list of {len(args)} values ({', '.join(_expected(a) for a in args)})"
    if annotation in (list, tuple) or origin in _SEQUENCES:
        item = args[0] if args else None
        return (
            f"a list of {_expected(item).removeprefix('an ').removeprefix('a ')}s"
            if item
            else ("a list")
        )
    return getattr(annotation, "__name__", str(annotation))


def type_problem(value: Any, annotation: Any) -> str | None:
    """Why `value` does not fit `annotation`, or None when it fits (or we cannot tell)."""
    if isinstance(value, dict) and "_target_" in value:
        return None  # a nested reference: it is built into an object first
    try:
        if _fits(value, annotation):
            return None
    except _Unknown:
        return None
    return f"must be {_expected(annotation)}, got {describe(value)}"
