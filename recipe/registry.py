"""Names to callables: custom.py's `@register`, built-ins, dotted paths — and their checks.

The config names what to build; this module finds it, checks the keyword arguments the
config gives against its signature (before any training starts), and builds it. custom.py
is loaded from the project directory by path, and every failure there is reported as
coming from the user's file and line, never as a recipe traceback.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar, overload

from recipe.annotations import type_hints, type_problem
from recipe.builtins import BUILTINS, INJECTED, RESERVED, section_kind
from recipe.config.data_values import DATA_VALUES, holds_late
from recipe.config.errors import ConfigError, Position, Problem, did_you_mean
from recipe.config.interpolate import contains_unresolved
from recipe.config.model_names import LIBRARIES
from recipe.config.schema import REFERENCE, REFERENCE_LIST, SCHEMA, TARGET_KEY, Field
from recipe.config.source import Path
from recipe.config.validate import ValidatedConfig, nested_references

F = TypeVar("F", bound=Callable[..., Any])

_CUSTOM: dict[str, Callable[..., Any]] = {}

# Reference kinds whose target receives one positional argument from the recipe
# (the model's parameters, the optimizer, the model outputs).
_POSITIONAL_INJECTED = {"optimizer": 1, "scheduler": 1, "postprocess": 1}


@overload
def register(name: F) -> F: ...
@overload
def register(name: str | None = None) -> Callable[[F], F]: ...
def register(name: Any = None) -> Any:
    """Register a function or class under a short name a config can use.

    `@register` uses the object's own name; `@register("my_mlp")` picks one.
    """

    def decorate(obj: F, short: str | None = None) -> F:
        _CUSTOM[short or obj.__name__] = obj
        return obj

    if callable(name):
        return decorate(name)
    return lambda obj: decorate(obj, name)


def custom_names() -> dict[str, Callable[..., Any]]:
    """What custom.py has registered so far."""
    return dict(_CUSTOM)


def load_custom(path: str, display: str = "custom.py") -> None:
    """Import the user's custom.py by path (as module `custom`); a missing file is fine.

    Raises ConfigError pointing at the user's own line when it fails to import.
    """
    _CUSTOM.clear()
    if not os.path.exists(path):
        return
    project_dir = os.path.dirname(os.path.abspath(path))
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)  # custom.py may import its sibling modules
    spec = importlib.util.spec_from_file_location("custom", path)
    if spec is None or spec.loader is None:
        raise ConfigError([Problem(Position(display), f"cannot load {display} as Python")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom"] = module  # so checkpoints that pickle custom classes load again
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop("custom", None)
        raise ConfigError(
            [
                Problem(
                    Position(display, exc.lineno or 1, exc.offset or 1),
                    f"in {display}: SyntaxError: {exc.msg}",
                )
            ]
        ) from None
    except Exception as exc:
        sys.modules.pop("custom", None)
        line = 1
        frames = traceback.extract_tb(exc.__traceback__)
        for frame in frames:
            if os.path.abspath(frame.filename) == os.path.abspath(path):
                line = frame.lineno or 1
        raise ConfigError(
            [
                Problem(
                    Position(display, line, 1),
                    f"in {display}: {type(exc).__name__}: {exc} "
                    f"(raised while importing {display}; fix this line)",
                )
            ]
        ) from None


def _import_dotted(name: str) -> Any:
    if ":" in name:
        module_name, _, attribute = name.partition(":")
    else:
        module_name, _, attribute = name.rpartition(".")
    if not module_name:
        raise LookupError(f"'{name}' is not a dotted path")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LookupError(f"cannot import '{module_name}' for '{name}': {exc}") from None
    try:
        obj = module
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        options = [n for n in dir(module) if not n.startswith("_")]
        raise LookupError(
            f"'{module_name}' has no '{attribute}'{did_you_mean(attribute, options)}"
        ) from None
    return obj


def resolve_target(name: str, kind: str) -> Callable[..., Any]:
    """The callable a config names: custom first, then built-in, then a dotted path."""
    if name in _CUSTOM:
        return _CUSTOM[name]
    builtin = BUILTINS.get(kind, {})
    if name in builtin:
        return _import_dotted(builtin[name])
    if "." in name or ":" in name:
        target = _import_dotted(name)
        if not callable(target):
            raise LookupError(f"'{name}' is not callable")
        return target
    known = sorted(set(builtin) | set(_CUSTOM))
    raise LookupError(
        f"unknown {kind} '{name}'{did_you_mean(name, known)} "
        f"(built-in: {', '.join(sorted(builtin)) or 'none'}; custom: "
        f"{', '.join(sorted(_CUSTOM)) or 'none'})"
    )


def _signature(target: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):
        return None  # some C callables have no signature: nothing to check


def accepted_arguments(target: Callable[..., Any]) -> tuple[set[str], bool]:
    """Names `target` accepts as keywords, and whether it takes **kwargs."""
    signature = _signature(target)
    if signature is None:
        return set(), True  # unknown: anything may be written, nothing is injected
    names = {
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    var_kw = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    return names, var_kw


def _user_kwargs(ref: dict[str, Any], kind: str) -> dict[str, Any]:
    reserved = {TARGET_KEY, *RESERVED.get(kind, ())}
    return {k: v for k, v in ref.items() if k not in reserved}


def check_signature(
    target: Callable[..., Any],
    kwargs: dict[str, Any],
    kind: str,
    *,
    nested: bool = False,
    column_of: Callable[[str], int | None] = lambda key: None,
) -> list[tuple[str | None, str]]:
    """Problems with calling `target(**kwargs)`: (offending key or None, message).

    A `nested` reference (inside another's arguments) is built with its own arguments only:
    the recipe injects nothing into it. `column_of(key)`: where the key is written, so a
    non-ASCII look-alike in it is pointed at by column.
    """
    signature = _signature(target)
    if signature is None:
        return []
    title = getattr(target, "__qualname__", repr(target))
    params = list(signature.parameters.values())
    var_kw = any(p.kind == p.VAR_KEYWORD for p in params)
    positional = 0 if nested else _POSITIONAL_INJECTED.get(kind, 0)
    keywordable = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    names = [p.name for p in keywordable]
    problems: list[tuple[str | None, str]] = []
    if not var_kw:
        for key in kwargs:
            if key not in names:
                listing = ", ".join(names[positional:]) or "none"
                problems.append(
                    (
                        key,
                        f"{title}() has no argument '{key}'"
                        f"{did_you_mean(key, names, column_of(key))} "
                        f"(it accepts: {listing})",
                    )
                )
    hints = type_hints(target)
    for key, value in kwargs.items():
        if kind == "optimizer" and key == "lr" and value == "auto":
            continue  # the learning-rate finder picks it before the optimizer is built
        if contains_unresolved(value):
            continue  # its interpolation failed, and the quick check said so
        if holds_late(value):
            continue  # ${data.*}: known once the data is built (recipe.preflight checks it)
        if key in names and key in hints:
            wrong = type_problem(value, hints[key])
            if wrong:
                problems.append((key, f"{title}() argument '{key}' {wrong}"))
    injected = set() if nested else set(INJECTED.get(kind, ()))
    for index, param in enumerate(keywordable):
        if index < positional or param.default is not inspect.Parameter.empty:
            continue
        if param.name not in kwargs and param.name not in injected:
            value = f"${{data.{param.name}}}" if param.name in DATA_VALUES else "…"
            problems.append(
                (None, f"{title}() needs argument '{param.name}'; add '{param.name}: {value}'")
            )
    return problems


def _references(data: dict[str, Any]) -> list[tuple[Path, Any]]:
    """Every top-level reference in a validated config, with its path."""
    found: list[tuple[Path, Any]] = []
    for section, spec in SCHEMA.items():
        if isinstance(spec, Field):
            value = data.get(section)
            if spec.types == REFERENCE_LIST:
                found.extend(((section, i), item) for i, item in enumerate(value or []))
            elif spec.types == REFERENCE and value not in (None, "auto"):
                found.append(((section,), value))
        else:
            for key, field in spec.items():
                value = data[section].get(key)
                if field.types == REFERENCE and value not in (None, "auto"):
                    found.append(((section, key), value))
    return found


def check_references(config: ValidatedConfig) -> None:
    """The full check: load custom.py, resolve every reference, check its arguments, and
    (recipe.preflight) the metrics it monitors and the module it freezes.

    Raises ConfigError listing every problem, each at its line in the config.
    """
    load_custom(config.custom_path, config.custom_display)
    problems: list[Problem] = []

    def visit(path: Path, ref: Any, *, nested: bool = False) -> None:
        kind = section_kind(path)
        if isinstance(ref, str):
            ref = {TARGET_KEY: ref}
        if not isinstance(ref, dict):
            return
        name = ref.get(TARGET_KEY)
        target_path = (*path, TARGET_KEY)
        if not isinstance(name, str):
            return
        try:
            target = resolve_target(name, kind)
        except LookupError as exc:
            problems.append(Problem(config.locate(target_path), str(exc)))
            return
        kwargs = _user_kwargs(ref, kind)

        def column_of(key: str) -> int | None:
            return config.source.word_start(config.locate((*path, key), key=True), key)

        found = check_signature(target, kwargs, kind, nested=nested, column_of=column_of)
        for key, message in found:
            position = config.locate((*path, key) if key else target_path, key=key is not None)
            start = column_of(key) if key and not key.isascii() else None
            if key and start is not None:  # at the non-ASCII character itself
                index = next(i for i, ch in enumerate(key) if not ch.isascii())
                position = Position(position.file, position.line, start + index)
            problems.append(Problem(position, message))
        if kind == "model" and not nested and name in LIBRARIES and name not in _CUSTOM:
            from recipe.vision.names import full_problems

            for key, message in full_problems(name, ref, config.project_dir):
                problems.append(Problem(config.locate((*path, key)), message))
        # A target may check its own arguments' values further (an image builder's
        # augmentation names): `check_arguments(kwargs)` -> [(path below it, message)].
        check_values = getattr(target, "check_arguments", None)
        if callable(check_values) and not found:
            for where, message in check_values(kwargs):
                at = (*path, *where)
                problems.append(
                    Problem(
                        config.locate(at, key=bool(where) and isinstance(where[-1], str)), message
                    )
                )
        for key, item in kwargs.items():
            for inner_path, inner in nested_references((*path, key), item):
                visit(inner_path, inner, nested=True)

    for path, ref in _references(config.data):
        visit(path, ref)
    if not problems and config.complete:
        from recipe.preflight import check_built

        problems.extend(check_built(config))
    if problems:
        raise ConfigError(problems)


# The data the full check built (recipe.preflight), handed to the one build of the same
# reference that follows in this process (train's), so a dataset is not loaded twice.
_BUILT_DATA: list[tuple[Any, dict[str, Any], Any]] = []


def hand_over_data(ref: Any, injected: dict[str, Any], built: Any) -> None:
    """Keep `built` (the data `ref` gave) for the next `instantiate(ref, "data", ...)`."""
    _BUILT_DATA[:] = [(copy.deepcopy(ref), dict(injected), built)]


def data_injections(cfg: dict[str, Any]) -> dict[str, Any]:
    """What the recipe hands a data builder that names it: the seed, and the image
    preprocessing the configured model expects (None when the model names none)."""
    from recipe.vision.preprocessing import for_model

    return {"seed": int(cfg["project"]["seed"]), "preprocessing": for_model(cfg["model"])}


def instantiate(ref: Any, kind: str, *args: Any, **injected: Any) -> Any:
    """Build a reference: nested references first, injected arguments where accepted."""
    if kind == "data" and _BUILT_DATA and not args:
        kept_ref, kept_injected, built = _BUILT_DATA.pop()
        if kept_ref == ref and kept_injected == injected:
            return built
    if isinstance(ref, str):
        ref = {TARGET_KEY: ref}
    target = resolve_target(ref[TARGET_KEY], kind)
    kwargs = {key: _build_nested(value, kind) for key, value in _user_kwargs(ref, kind).items()}
    names, _ = accepted_arguments(target)
    for key, value in injected.items():
        # Only to a parameter of that name, never through **kwargs: a class taking
        # **kwargs (torchvision's resnet18, timm's create_model) passes them on to
        # something that refuses them. The user maps the rest (${data.num_classes}).
        if key not in kwargs and key in names:
            kwargs[key] = value
    return target(*args, **kwargs)


def _build_nested(value: Any, kind: str) -> Any:
    """An argument with every reference in it built, at any depth (lists included)."""
    if isinstance(value, dict):
        if TARGET_KEY in value:
            return instantiate(value, kind)
        return {key: _build_nested(item, kind) for key, item in value.items()}
    if isinstance(value, list):
        return [_build_nested(item, kind) for item in value]
    return value
