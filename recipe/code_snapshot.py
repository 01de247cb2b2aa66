"""The code a run was launched with, kept in its run directory: `custom.py` and `code.json`.

A run directory must work from anywhere and after the project moves on: `predict`,
`train --resume` and the training of a launched run import the run's own copy of the
project's custom.py, never whatever `./custom.py` the current directory holds (from another
directory that was a raw `LookupError` for a run with a custom model; after an edit, a
different model than the one trained). `code.json` says where the copy came from and, when
the project is a git repository, at which commit and whether the tree had uncommitted
changes.

Torch-free and standard-library only: the launcher (autotrain_tui.core) snapshots at
`create_run`, and `python -m recipe train` does it for a run directory that has no copy yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any

from recipe.io import atomic_write_bytes  # torch-free, like this module

CUSTOM_COPY = "custom.py"
CODE_FILE = "code.json"
GIT_TIMEOUT_S = 10.0


def _git(project_dir: str, *args: str) -> str | None:
    """`git -C project_dir ARGS` stdout, or None when git or the repository is not there."""
    try:
        result = subprocess.run(
            ["git", "-C", project_dir, *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def git_state(project_dir: str) -> dict[str, Any] | None:
    """`{"commit": sha, "dirty": bool}` for a git work tree, else None."""
    commit = _git(project_dir, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return None
    status = _git(project_dir, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def snapshot_code(project_dir: str, custom: str, run_dir: str) -> dict[str, Any]:
    """Copy `project_dir/custom` to `run_dir/custom.py` and write `run_dir/code.json`.

    `custom` is the config's `project.custom` (relative to the project, or absolute). A
    project without that file gets a code.json saying so and no copy. Returns code.json's
    content.
    """
    project_dir = os.path.abspath(project_dir)
    source = os.path.join(project_dir, custom)
    record: dict[str, Any] = {
        "project_dir": project_dir,
        "custom": custom,
        "copied": False,
        "sha256": None,
        "git": git_state(project_dir),
    }
    try:
        with open(source, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        data = None
    if data is not None:
        atomic_write_bytes(os.path.join(run_dir, CUSTOM_COPY), data)
        record.update(copied=True, sha256=hashlib.sha256(data).hexdigest())
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(os.path.join(run_dir, CODE_FILE), text.encode("utf-8"))
    return record


def custom_from_text(config_text: str) -> str:
    """`project.custom` of a config's text (what the launcher has), `custom.py` by default."""
    from recipe.config import parse_config_text  # torch-free, like this module

    try:
        project = parse_config_text(config_text, "config.yaml").data.get("project")
        custom = project.get("custom") if isinstance(project, dict) else None
    except Exception:  # the launcher checked the config already; anything odd: the default
        custom = None
    return custom if isinstance(custom, str) and custom else "custom.py"


def read_code_record(run_dir: str) -> dict[str, Any] | None:
    """code.json of a run, or None for a run made before snapshots (or a broken file)."""
    try:
        with open(os.path.join(run_dir, CODE_FILE), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def has_snapshot(run_dir: str) -> bool:
    """Whether the run directory already records its code (a copy, or that there was none)."""
    return read_code_record(run_dir) is not None


def custom_copy(run_dir: str) -> str | None:
    """The run's own copy of custom.py, when it has one."""
    path = os.path.join(run_dir, CUSTOM_COPY)
    return path if os.path.isfile(path) else None


def run_code(run_dir: str | None) -> str | None:
    """The run's own custom.py when the run recorded its code (even as "there was none":
    then the path does not exist and nothing is imported), else None: the project's."""
    if run_dir is None or not os.path.isdir(run_dir):
        return None
    copy = os.path.join(run_dir, CUSTOM_COPY)
    return copy if has_snapshot(run_dir) or os.path.isfile(copy) else None


def use_run_code(run_dir: str | None) -> str | None:
    """`run_code(run_dir)`, with the project it came from put last on sys.path when it is
    still there, so the copy can import the modules it imported from beside it."""
    copy = run_code(run_dir)
    if copy is not None and run_dir is not None:
        project_dir = (read_code_record(run_dir) or {}).get("project_dir")
        if (
            isinstance(project_dir, str)
            and os.path.isdir(project_dir)
            and (project_dir not in sys.path)
        ):
            sys.path.append(project_dir)
    return copy
