"""Run references: how a user names a run on the command line and in every action.

A reference is only ever the name of an entry of `runs/`, never a path: `rm ..` or a link
in `runs/` pointing elsewhere must not reach the project, or anything outside `runs/`.
Within that, naming a run should be easy: any unique part of its directory name works (the
random tail tells two runs of one config apart), and `latest` is the newest run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from autotrain_tui.core.errors import AmbiguousRunError, ManagerError, UnknownRunError
from autotrain_tui.core.listing import run_json_problem
from autotrain_tui.core.runs import RUN_JSON, RunRecord

# The reference that names the newest run.
LATEST = "latest"


def resolve_run_name(runs_dir: Path, ref: str, newest_first: Callable[[], list[RunRecord]]) -> str:
    """The name of the run directory under `runs_dir` that `ref` names.

    `ref` is a directory name (also written `runs/NAME/`, as a shell completes it), any
    unique part of one, or `latest` (the first of `newest_first()`). `.`, `..`, other
    separators, hidden entries and symbolic links are refused with the reason; an ambiguous
    part lists the candidates.
    """
    runs = runs_dir.name
    name = ref.strip()
    if name.startswith("./"):
        name = name[2:]
    if name.startswith(f"{runs}/"):
        name = name[len(runs) + 1 :]
    if name.endswith("/") and name.strip("/"):
        name = name.rstrip("/")
    if not name:
        raise UnknownRunError("no run given")
    if name in (".", "..") or "/" in name or "\0" in name or name.startswith("."):
        raise UnknownRunError(
            f"not a run name: {ref!r}; name a run by its directory under {runs}/ "
            "(or a unique part of it, or `latest`)"
        )
    path = runs_dir / name
    if path.is_symlink():
        raise ManagerError(
            f"{runs}/{name} is a symbolic link, not a run directory; nothing is done "
            "through it (put the run directory itself there, or remove the link)"
        )
    if path.is_dir():
        if not os.path.lexists(path / RUN_JSON):
            raise ManagerError(run_json_problem(runs_dir, name, FileNotFoundError()))
        return name
    if name == LATEST:
        records = newest_first()
        if not records:
            raise UnknownRunError(f"no runs yet in {runs_dir}")
        return records[0].run_dir.name
    matches = sorted(n for n in run_names(runs_dir) if name in n)
    if not matches:
        raise UnknownRunError(f"no run matches {name!r}")
    if len(matches) > 1:
        shown = ", ".join(matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise AmbiguousRunError(
            f"{name!r} matches {len(matches)} runs: {shown}{more}; give more of the name "
            "(its last part tells runs apart)"
        )
    return matches[0]


def run_names(runs_dir: Path) -> list[str]:
    """The names of the real (not linked) run directories under `runs_dir`."""
    try:
        entries = list(os.scandir(runs_dir))
    except FileNotFoundError:
        return []
    except OSError as error:
        raise ManagerError(
            f"cannot list {runs_dir}/ ({error.strerror or error}): fix its permissions"
        ) from error
    return [
        e.name
        for e in entries
        if not e.name.startswith(".")
        and e.is_dir(follow_symlinks=False)
        and os.path.lexists(os.path.join(e.path, RUN_JSON))
    ]
