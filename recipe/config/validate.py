"""The torch-free config check: sections, keys, types, required keys, names, interpolation.

Runs in milliseconds and imports neither torch nor the user's code, so the UI calls it on
every keystroke. The full check (signatures of the functions a config names, which needs
custom.py imported) lives in `recipe.registry.check_references`.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from recipe.builtins import BUILTINS, section_kind
from recipe.config.custom_scan import CustomScan, scan_custom_file
from recipe.config.data_values import late_name
from recipe.config.errors import ConfigError, Position, Problem, did_you_mean
from recipe.config.interpolate import UNRESOLVED, resolve_interpolations
from recipe.config.model_names import LIBRARIES, cached_names, key_problems, name_problems
from recipe.config.overrides import Override, apply_overrides, parse_overrides_collecting
from recipe.config.schema import (
    REFERENCE,
    REFERENCE_LIST,
    SCHEMA,
    TARGET_KEY,
    Field,
    defaults,
)
from recipe.config.slurm import slurm_problems
from recipe.config.source import ConfigSource, Path, parse_config_text, read_config

_TYPE_WORDS = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
    type(None): "null",
}
_AUTO_REFERENCES = {("loss",), ("predict", "postprocess")}


@dataclass
class ValidatedConfig:
    """A config that passed the quick check: defaults filled, interpolations resolved."""

    data: dict[str, Any]
    source: ConfigSource
    locate: Callable[..., Position]
    project_dir: str
    custom_path: str
    custom_display: str
    overrides: tuple[str, ...]
    # False for the partial config a failed quick check hands the full check: references
    # are still checked, but nothing is built from it.
    complete: bool = True


def _describe(value: Any) -> str:
    word = _TYPE_WORDS.get(type(value), type(value).__name__)
    return f"{value!r} ({word})" if not isinstance(value, (dict, list)) else word


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if value is UNRESOLVED:
        return True  # already reported as an interpolation problem
    if isinstance(value, bool):
        return bool in types
    if isinstance(value, int) and float in types:
        return True
    return isinstance(value, types)


def _expected(types: tuple[type, ...]) -> str:
    words = [_TYPE_WORDS.get(t, t.__name__) for t in types]
    return " or ".join(words)


class _Checker:
    def __init__(
        self,
        locate: Callable[..., Position],
        custom: CustomScan,
        custom_display: str,
        source: ConfigSource,
    ) -> None:
        self.locate = locate
        self.source = source
        self.custom = custom
        self.custom_display = custom_display
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str, *, key: bool = False) -> None:
        self.problems.append(Problem(self.locate(path, key=key), message))

    def add_unknown(
        self,
        path: Path,
        word: str,
        candidates: Iterable[str],
        message: tuple[str, str],
        *,
        key: bool = True,
    ) -> None:
        """`message[0] + hint + message[1]` for a name not among `candidates`, at the name;
        a non-ASCII look-alike character is pointed at by its own column."""
        position = self.locate(path, key=key)
        start = self.source.word_start(position, word) if not word.isascii() else None
        if start is not None:
            index = next(i for i, ch in enumerate(word) if not ch.isascii())
            position = Position(position.file, position.line, start + index)
        hint = did_you_mean(word, candidates, start)
        self.problems.append(Problem(position, message[0] + hint + message[1]))

    # --- structure -----------------------------------------------------------------------
    def merge(self, user: dict[str, Any]) -> dict[str, Any]:
        merged = defaults()
        for section, value in user.items():
            if section not in SCHEMA:
                self.add_unknown(
                    (section,),
                    section,
                    SCHEMA,
                    (f"unknown section '{section}'", f" (sections: {', '.join(SCHEMA)})"),
                )
                continue
            spec = SCHEMA[section]
            if isinstance(spec, Field):
                merged[section] = self.merge_reference((section,), spec, value)
            elif value is None:
                continue  # an empty section keeps its defaults
            elif not isinstance(value, dict):
                self.add(
                    (section,), f"'{section}' must be a mapping of keys, got {_describe(value)}"
                )
            else:
                for key, item in value.items():
                    if key not in spec:
                        self.add_unknown(
                            (section, key),
                            key,
                            spec,
                            (f"unknown key '{section}.{key}'", ""),
                        )
                        continue
                    field = spec[key]
                    if field.types == REFERENCE:
                        merged[section][key] = self.merge_reference((section, key), field, item)
                    else:
                        merged[section][key] = item
        for section, spec in SCHEMA.items():
            if isinstance(spec, Field) and spec.required and section not in user:
                example = spec.default.get(TARGET_KEY) if isinstance(spec.default, dict) else ""
                self.problems.append(
                    Problem(
                        Position(self.locate(()).file, 1, 1),
                        f"missing required section '{section}'; add e.g. "
                        f"'{section}: {{_target_: {example}}}'",
                    )
                )
        return merged

    def merge_reference(self, path: Path, field: Field, value: Any) -> Any:
        if field.types == REFERENCE_LIST:
            if value is None:
                return []
            if not isinstance(value, list):
                self.add(path, f"'{path[0]}' must be a list of references, got {_describe(value)}")
                return []
            return [{TARGET_KEY: v} if isinstance(v, str) else v for v in value]
        if isinstance(value, str) and value != "auto" and "${" not in value:
            return {TARGET_KEY: value}  # shorthand: `loss: mse` means `{_target_: mse}`
        if isinstance(value, dict) and TARGET_KEY not in value:
            # Arguments without a target refine the default reference (e.g. just `lr:`).
            if isinstance(field.default, dict):
                combined = copy.deepcopy(field.default)
                combined.update(value)
                return combined
            dotted = ".".join(map(str, path))
            self.add(path, f"'{dotted}' needs '{TARGET_KEY}: NAME' naming what to call")
            return None
        return value

    # --- types -----------------------------------------------------------------------------
    def check_types(self, data: dict[str, Any]) -> None:
        for section, spec in SCHEMA.items():
            if isinstance(spec, Field):
                self.check_reference_field((section,), spec, data.get(section))
                continue
            for key, field in spec.items():
                value = data[section].get(key)
                path = (section, key)
                if field.types == REFERENCE:
                    self.check_reference_field(path, field, value)
                    continue
                assert isinstance(field.types, tuple)
                if late_name(value) is not None:
                    self.add(
                        path,
                        f"'{section}.{key}': {value} is known only once the data is built; "
                        "use it in the arguments of what the recipe builds after the data "
                        "(model, loss, optimizer, scheduler, callbacks)",
                    )
                elif not _type_ok(value, field.types):
                    self.add(
                        path,
                        f"'{section}.{key}' must be {_expected(field.types)}, "
                        f"got {_describe(value)}",
                    )
                elif field.minimum is not None and isinstance(value, int) and value < field.minimum:
                    self.add(
                        path, f"'{section}.{key}' must be at least {field.minimum}, got {value}"
                    )
                elif field.choices is not None and value not in (*field.choices, UNRESOLVED):
                    options = ", ".join(str(c) for c in field.choices if not isinstance(c, int))
                    hint = did_you_mean(str(value), [str(c) for c in field.choices])
                    self.add(
                        path, f"'{section}.{key}' cannot be {value!r}{hint} (one of: {options})"
                    )

    def check_reference_field(self, path: Path, field: Field, value: Any) -> None:
        if field.types == REFERENCE_LIST:
            for index, item in enumerate(value or []):
                self.check_reference((*path, index), item)
            return
        if value is None:
            if field.default is not None:
                self.add(path, f"'{'.'.join(map(str, path))}' cannot be empty")
            return
        if path in _AUTO_REFERENCES and value == "auto":
            return
        self.check_reference(path, value)

    def check_reference(self, path: Path, value: Any) -> None:
        dotted = ".".join(map(str, path))
        if value is UNRESOLVED:
            return
        if isinstance(value, str):
            self.check_name(path, value)
            return
        if not isinstance(value, dict):
            self.add(path, f"'{dotted}' must name something to call, got {_describe(value)}")
            return
        target = value.get(TARGET_KEY)
        if not isinstance(target, str) or not target:
            self.add(
                path,
                f"'{dotted}' needs '{TARGET_KEY}: NAME' (a custom.py name, a built-in, "
                "or a dotted path like torch.optim.AdamW)",
            )
        else:
            self.check_name((*path, TARGET_KEY), target)
            if path == ("model",) and target in LIBRARIES and target not in self.custom.names:
                self.check_library_model(path, target, value)
        for key, item in value.items():
            if key != TARGET_KEY:
                for nested_path, nested in nested_references((*path, key), item):
                    self.check_reference(nested_path, nested)

    def check_library_model(self, path: Path, library: str, ref: dict[str, Any]) -> None:
        """The model name (and torchvision weights) against the library's cached list;
        nothing until the full check has cached it (see recipe.config.model_names)."""
        found = key_problems(library, ref)
        names = cached_names(library)
        if names is not None:
            found += name_problems(library, ref, names)
        for key, message in found:
            self.add((*path, key), message)

    def check_name(self, path: Path, name: str) -> None:
        if name is UNRESOLVED:
            return
        if "." in name or ":" in name:
            return  # a dotted import path: checked by the full check, which may import
        if name in self.custom.names:
            return
        kind = section_kind(path)
        builtin = BUILTINS.get(kind, {})
        if name in builtin:
            return
        known = sorted(set(builtin) | set(self.custom.names))
        mine = sorted(self.custom.names)
        listing = f"built-in: {', '.join(sorted(builtin)) or 'none'}"
        if mine:
            listing += f"; from {self.custom_display}: {', '.join(mine)}"
        self.add_unknown(
            path,
            name,
            known,
            (
                f"unknown {kind} '{name}'",
                f" ({listing}; or register one in {self.custom_display} with @register)",
            ),
            key=False,
        )


def nested_references(path: Path, value: Any) -> list[tuple[Path, dict[str, Any]]]:
    """The references (mappings with `_target_`) in an argument, at any depth: in lists
    (`layers: [{_target_: torch.nn.Linear, …}]`) and in plain mappings, outermost first."""
    if isinstance(value, dict):
        if TARGET_KEY in value:
            return [(path, value)]
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return []
    found: list[tuple[Path, dict[str, Any]]] = []
    for key, item in items:
        found.extend(nested_references((*path, key), item))
    return found


def check_source(
    source: ConfigSource,
    overrides: Sequence[str] = (),
    *,
    project_dir: str | None = None,
    custom: CustomScan | None = None,
) -> ValidatedConfig:
    """Validate a parsed config with overrides; raises ConfigError listing every problem."""
    project_dir = os.path.abspath(project_dir or os.getcwd())
    parsed: list[Override]
    parsed, override_problems = parse_overrides_collecting(overrides)
    override_at: dict[Path, Position] = {o.path: o.position for o in parsed}

    def locate(path: Path, *, key: bool = False) -> Position:
        probe = tuple(path)
        while probe:
            if probe in override_at:
                return override_at[probe]
            probe = probe[:-1]
        if path and path not in source.key_at and path not in source.value_at:
            # A key that only an override introduced: point at that override.
            for override_path, position in override_at.items():
                if override_path[: len(path)] == tuple(path):
                    return position
        return source.locate(path, key=key)

    user = copy.deepcopy(source.data)
    problems = override_problems + apply_overrides(user, parsed)

    project = user.get("project") if isinstance(user.get("project"), dict) else {}
    custom_rel = str((project or {}).get("custom") or "custom.py")
    custom_path = os.path.join(project_dir, custom_rel)
    if custom is None:
        custom = scan_custom_file(custom_path, custom_rel)

    checker = _Checker(locate, custom, custom_rel, source)
    checker.problems.extend(problems)
    if custom.problem is not None:
        checker.problems.append(custom.problem)
    merged = checker.merge(user)
    if merged["project"].get("name") is None:
        merged["project"]["name"] = os.path.splitext(os.path.basename(source.file))[0]
    resolved, interpolation_problems = resolve_interpolations(merged, locate)
    checker.problems.extend(interpolation_problems)
    checker.check_types(resolved)
    checker.problems.extend(slurm_problems(resolved, locate))
    config = ValidatedConfig(
        data=resolved,
        source=source,
        locate=locate,
        project_dir=project_dir,
        custom_path=custom_path,
        custom_display=custom_rel,
        overrides=tuple(overrides),
    )
    if checker.problems:
        config.complete = False
        partial = None if custom.problem is not None else config
        raise ConfigError(checker.problems, partial=partial)
    return config


def check_text(
    text: str, file: str, overrides: Sequence[str] = (), *, project_dir: str | None = None
) -> list[Problem]:
    """Every problem the quick check finds in config text (empty when valid). For the UI."""
    try:
        check_source(parse_config_text(text, file), overrides, project_dir=project_dir)
    except ConfigError as exc:
        return exc.problems
    return []


def load_config(
    path: str, overrides: Sequence[str] = (), *, project_dir: str | None = None
) -> ValidatedConfig:
    """Read, parse and quick-check a config file; raises ConfigError."""
    return check_source(read_config(path), overrides, project_dir=project_dir)
