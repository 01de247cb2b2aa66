"""Project trust: a project's own code runs only after its user has said so.

Opening a project must be as safe as opening a folder in an editor: its `custom.py` and
the modules its configs name (`_target_`) are ordinary Python, so importing them runs
whatever they contain. Like editors' "workspace trust", the first time a project is opened
nothing of its code is imported: the torch-free quick check (parsing, schema, an AST scan
of `custom.py`) still runs, while the full check, launches and anything else that imports
project code wait until the user trusts the project (a prompt in the UI, `autotrain-tui
trust` or `--trust` on the command line).

The decision is remembered per resolved project path in the user's config directory
(`$XDG_CONFIG_HOME/autotrain-tui/trusted.json`, default `~/.config/...`), never inside the
project: a project cannot vouch for itself.

A config's `project.custom` may name a file outside the project (`/any/file.py`, or a
`custom.py` that links out). Trusting the project does not vouch for that file: it is
trusted on its own (`autotrain-tui trust --file PATH`), by resolved path and SHA-256 of its
content, so an edited file must be trusted again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from autotrain_tui.core.atomic import write_json_atomic
from autotrain_tui.core.errors import ManagerError

__all__ = [
    "UntrustedFileError",
    "UntrustedProjectError",
    "custom_file",
    "file_digest",
    "is_code_file_trusted",
    "is_trusted",
    "require_custom_trusted",
    "require_trusted",
    "trust_code_file",
    "trust_file",
    "trust_project",
    "trusted_code_files",
    "trusted_projects",
    "untrust_code_file",
    "untrust_project",
]

TRUST_VERSION = 1


class UntrustedProjectError(ManagerError):
    """The action would run the project's code, and the project is not trusted."""


class UntrustedFileError(UntrustedProjectError):
    """The action would run a code file outside the project that was not trusted as it is."""


def trust_file() -> Path:
    """Where trust decisions live: the user's config directory, outside every project."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autotrain-tui" / "trusted.json"


def _key(project_root: Path | str) -> str:
    return str(Path(project_root).resolve())


def _read_all() -> dict[str, dict[str, Any]]:
    """Both tables of the trust file: "projects" (path → decision) and "files" (path →
    the SHA-256 that was trusted)."""
    path = trust_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # Missing, or damaged: a damaged file trusts nothing (the safe reading) and is
        # rewritten on the next decision; it is never a reason to refuse to start.
        data = {}
    tables: dict[str, dict[str, Any]] = {}
    for name in ("projects", "files"):
        table = data.get(name) if isinstance(data, dict) else None
        tables[name] = table if isinstance(table, dict) else {}
    return tables


def _read() -> dict[str, Any]:
    return _read_all()["projects"]


def _write(projects: dict[str, Any], files: dict[str, Any] | None = None) -> None:
    path = trust_file()
    if files is None:
        files = _read_all()["files"]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"version": TRUST_VERSION, "projects": projects, "files": files})
    except OSError as error:
        raise ManagerError(f"cannot record the trust decision in {path}: {error}") from error


def trusted_projects() -> list[str]:
    """The trusted project paths, sorted."""
    return sorted(_read())


def is_trusted(project_root: Path | str) -> bool:
    """Whether the user has trusted this project (its resolved path)."""
    return _key(project_root) in _read()


def trust_project(project_root: Path | str) -> None:
    """Remember that this project's code may run."""
    projects = _read()
    projects[_key(project_root)] = {"trusted": True}
    _write(projects)


def untrust_project(project_root: Path | str) -> bool:
    """Forget the decision; True when there was one."""
    projects = _read()
    if projects.pop(_key(project_root), None) is None:
        return False
    _write(projects)
    return True


def require_trusted(project_root: Path | str, action: str) -> None:
    """Raise `UntrustedProjectError` naming the fix when `action` would run untrusted code."""
    if is_trusted(project_root):
        return
    root = _key(project_root)
    raise UntrustedProjectError(
        f"{action} would run this project's code (custom.py and the modules its configs "
        f"name), and {root} is not trusted yet: run `autotrain-tui trust -C {root}` "
        "(or pass --trust) once you have read it"
    )


def file_digest(path: Path | str) -> str:
    """The SHA-256 of a file's content, read in chunks; ManagerError when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as error:
        raise ManagerError(f"cannot read {path}: {error.strerror or error}") from error
    return digest.hexdigest()


def trust_code_file(path: Path | str) -> Path:
    """Trust one code file as it is now (resolved path + SHA-256); returns the resolved path."""
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise ManagerError(f"not a file: {path}")
    tables = _read_all()
    tables["files"][str(resolved)] = {"sha256": file_digest(resolved)}
    _write(tables["projects"], tables["files"])
    return resolved


def is_code_file_trusted(path: Path | str) -> bool:
    """Whether this file, with exactly its present content, was trusted."""
    resolved = Path(path).resolve()
    entry = _read_all()["files"].get(str(resolved))
    if not isinstance(entry, dict) or not resolved.is_file():
        return False
    try:
        return entry.get("sha256") == file_digest(resolved)
    except ManagerError:
        return False


def untrust_code_file(path: Path | str) -> bool:
    """Forget a trusted file; True when there was a decision."""
    tables = _read_all()
    if tables["files"].pop(str(Path(path).resolve()), None) is None:
        return False
    _write(tables["projects"], tables["files"])
    return True


def trusted_code_files() -> list[str]:
    """The trusted code files outside projects, sorted."""
    return sorted(_read_all()["files"])


def custom_file(project_root: Path, config_text: str) -> Path | None:
    """The code file a config's `project.custom` names (default custom.py), resolved as the
    recipe resolves it (against the project); None when the text does not parse (then the
    recipe stops at the same parse error, before importing anything)."""
    from recipe.config import ConfigError, parse_config_text  # torch-free by contract

    try:
        data = parse_config_text(config_text, "config").data
    except ConfigError:
        return None
    project = data.get("project")
    custom = project.get("custom") if isinstance(project, dict) else None
    return (Path(project_root).resolve() / str(custom or "custom.py")).resolve()


def require_custom_trusted(project_root: Path | str, shown: str, config_text: str) -> None:
    """Raise `UntrustedFileError` when the config's custom code lies outside the project
    (a path, or a link) and that file was not trusted with its present content."""
    root = Path(project_root).resolve()
    custom = custom_file(root, config_text)
    if custom is None or custom.is_relative_to(root) or is_code_file_trusted(custom):
        return
    raise UntrustedFileError(
        f"{shown}: project.custom is {custom}, outside the project {root}, and that file "
        f"is not trusted as it is now: read it, then run `autotrain-tui trust --file "
        f"{custom}` (or move it into the project)"
    )
