"""Listing `runs/`: every run that can be read, and a named problem for every entry that
cannot, so a damaged file never hides the other runs nor disappears silently.

A run directory is shared with processes and people: a `run.json` truncated by a full
disk, hand-edited with a wrong type, a directory copied with its id, a link someone put
there. The listing reads each entry on its own, keeps going past a broken one, and says
for each what is wrong, with the file's path and what to do (docs/cli-json.md: the
`problems` of `runs --json`).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autotrain_tui.core.runs import RUN_JSON, RunCache, RunRecord, read_run, reconcile


@dataclass(frozen=True)
class RunProblem:
    """An entry of `runs/` that could not be listed as it should, and how to fix it."""

    name: str  # the entry's name under runs/ ("" for runs/ itself)
    message: str  # one line: what is wrong, with the file's path, and what to do

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class RunListing:
    """What `scan_runs` found: the runs it could read, and a problem for each it could not."""

    records: list[RunRecord]
    problems: list[RunProblem]


# A directory without run.json this young is a run being created (the launcher makes the
# directory, then writes config.yaml and run.json a few milliseconds later), not a problem.
_CREATING_GRACE_S = 30.0


def run_json_problem(runs_dir: Path, name: str, error: Exception) -> str:
    """The one line naming what is wrong with `runs/<name>/run.json` and what to do."""
    shown = os.path.join(runs_dir.name, name)
    if isinstance(error, FileNotFoundError):
        return (
            f"{shown} has no {RUN_JSON}: not a run (or its record was deleted); "
            f"move it out of {runs_dir.name}/ or delete it (rm -r {shown})"
        )
    if isinstance(error, PermissionError):
        return f"cannot read {shown}/{RUN_JSON} (permission denied): fix its permissions"
    if isinstance(error, OSError):
        return f"cannot read {shown}/{RUN_JSON} ({error.strerror or error})"
    return (
        f"{shown}/{RUN_JSON} is damaged ({error}): restore it from a backup, "
        f"or delete the run (rm -r {shown})"
    )


def scan_runs(
    runs_dir: Path, *, reconcile_dead: bool = True, cache: RunCache | None = None
) -> RunListing:
    """All runs under `runs/`, newest first, and a problem line for every entry that is
    not listed as it should be: an unreadable or damaged `run.json`, a link, two
    directories that claim the same id. A broken entry never hides the others, and is
    never dropped silently; dead `running` runs become `lost` on the way.

    Reads `runs/` directly — one small JSON file per run and one psutil lookup per running
    run — so it stays fast (1,000 runs well under a second) with no index to go stale.
    With a `cache`, only the `run.json` files that changed since its last call are read.
    """
    named: list[tuple[str, RunRecord]] = []  # (directory name, record): no Path.name per run
    problems: list[RunProblem] = []
    seen: set[str] = set()
    try:
        entries = list(os.scandir(runs_dir))
    except FileNotFoundError:
        entries = []
    except OSError as error:
        message = f"cannot list {runs_dir}/ ({error.strerror or error}): fix its permissions"
        return RunListing([], [RunProblem("", message)])
    for entry in entries:
        if entry.name.startswith("."):
            continue  # the queue's own files (.queue.json, .gpu-ledger.json, locks)
        run_dir = entry.path
        try:
            if entry.is_symlink():
                shown = os.path.join(runs_dir.name, entry.name)
                problems.append(
                    RunProblem(
                        entry.name,
                        f"{shown} is a symbolic link, not a run directory: it is ignored "
                        f"(replace it by the directory itself, or remove the link)",
                    )
                )
                continue
            if not entry.is_dir():
                continue
            if cache is None:
                record = read_run(Path(run_dir))
            else:
                seen.add(run_dir)
                record = cache.read(run_dir)
        except FileNotFoundError as error:
            if _older_than(run_dir, _CREATING_GRACE_S):
                problems.append(
                    RunProblem(entry.name, run_json_problem(runs_dir, entry.name, error))
                )
            continue
        except (OSError, ValueError) as error:
            problems.append(RunProblem(entry.name, run_json_problem(runs_dir, entry.name, error)))
            continue
        if reconcile_dead:
            try:
                record = reconcile(record)
            except OSError as error:
                # A read-only or full runs/: list the record as read, and say why it is stale.
                problems.append(
                    RunProblem(
                        entry.name,
                        f"cannot update {os.path.join(runs_dir.name, entry.name, RUN_JSON)} "
                        f"({error.strerror or error}): its status may be out of date",
                    )
                )
        named.append((entry.name, record))
    if cache is not None:
        cache.forget_missing(seen)
    named.sort(key=lambda nr: (nr[1].created_at or 0.0, nr[1].id, nr[0]), reverse=True)
    problems.extend(_duplicate_problems(runs_dir, named))
    problems.sort(key=lambda p: p.name)
    return RunListing([record for _, record in named], problems)


def _older_than(path: str, seconds: float) -> bool:
    try:
        return time.time() - os.stat(path).st_mtime > seconds
    except OSError:
        return False


def _duplicate_problems(runs_dir: Path, named: list[tuple[str, RunRecord]]) -> list[RunProblem]:
    """A copied run directory keeps the id in its `run.json`: name every such pair."""
    counts = Counter(record.id for _, record in named)
    problems = []
    for run_id in sorted(i for i, n in counts.items() if n > 1):
        names = sorted(name for name, record in named if record.id == run_id)
        shown = [os.path.join(runs_dir.name, n) for n in names]
        both = " and ".join(shown) if len(shown) == 2 else ", ".join(shown)
        verb = "both say" if len(shown) == 2 else "all say"
        problems.append(
            RunProblem(
                names[0],
                f"{both} {verb} id {run_id} (a copied run directory?): remove the copy, or "
                f"give it an id of its own in its {RUN_JSON}",
            )
        )
    return problems
