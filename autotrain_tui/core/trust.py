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
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from autotrain_tui.core.atomic import write_json_atomic
from autotrain_tui.core.errors import ManagerError

__all__ = [
    "UntrustedProjectError",
    "is_trusted",
    "require_trusted",
    "trust_file",
    "trust_project",
    "trusted_projects",
    "untrust_project",
]

TRUST_VERSION = 1


class UntrustedProjectError(ManagerError):
    """The action would run the project's code, and the project is not trusted."""


def trust_file() -> Path:
    """Where trust decisions live: the user's config directory, outside every project."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autotrain-tui" / "trusted.json"


def _key(project_root: Path | str) -> str:
    return str(Path(project_root).resolve())


def _read() -> dict[str, Any]:
    path = trust_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        # A damaged file trusts nothing (the safe reading) and is rewritten on the next
        # decision; it is never a reason to refuse to start.
        return {}
    projects = data.get("projects") if isinstance(data, dict) else None
    return projects if isinstance(projects, dict) else {}


def _write(projects: dict[str, Any]) -> None:
    path = trust_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"version": TRUST_VERSION, "projects": projects})
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
