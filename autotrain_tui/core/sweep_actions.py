"""Sweeps as a whole: listing them, and stopping or resuming all of a sweep's runs.

`Project` inherits these (a sweep's runs are ordinary runs sharing a `sweep` id in their
run.json); they live apart so the facade stays readable. Expanding a grid into runs is
`core.sweep`; launching them is `Project.sweep`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotrain_tui.core import control, queue, search_sweep
from autotrain_tui.core.errors import (
    AmbiguousRunError,
    ManagerError,
    UnknownRunError,
    writes_project,
)
from autotrain_tui.core.runs import RunRecord, RunStatus, read_run
from autotrain_tui.core.trials import TrialScanner, TrialTable, trial_table


@dataclass(frozen=True)
class SweepSummary:
    """A sweep as listed: its runs and how many are in each status."""

    id: str
    config: str | None
    run_ids: tuple[str, ...]
    counts: tuple[tuple[str, int], ...]  # (status, count), in RunStatus order
    created_at: float | None

    def count(self, status: RunStatus) -> int:
        return dict(self.counts).get(status.value, 0)


class SweepActions:
    """The sweep-wide actions of `Project`, over the run methods it provides."""

    if TYPE_CHECKING:  # provided by Project

        @property
        def runs_dir(self) -> Path: ...

        python: str
        recipe_module: str

        def list_runs(
            self, status: RunStatus | Iterable[RunStatus] | None = None, sweep: str | None = None
        ) -> list[RunRecord]: ...
        def get_run(self, ref: str) -> RunRecord: ...
        def advance_queue(self) -> list[RunRecord]: ...
        def _stop(
            self, record: RunRecord, *, kill: bool, grace_s: float, wait: bool
        ) -> RunRecord: ...
        def _require_resume_trust(self, record: RunRecord) -> None: ...
        def _requeue_for_resume(self, record: RunRecord) -> RunRecord: ...
        def resume(self, ref: str, *, queue: bool = False) -> RunRecord: ...

    def list_sweeps(self) -> list[SweepSummary]:
        """Every sweep with its runs, newest first."""
        by_sweep: dict[str, list[RunRecord]] = {}
        for record in self.list_runs():
            if record.sweep:
                by_sweep.setdefault(record.sweep, []).append(record)
        summaries = [_summarise(sweep_id, runs) for sweep_id, runs in by_sweep.items()]
        summaries.sort(key=lambda s: (s.created_at or 0.0, s.id), reverse=True)
        return summaries

    def resolve_sweep_id(self, ref: str) -> str:
        # A search sweep is known from its directory before its first trial exists.
        ids = sorted({s.id for s in self.list_sweeps()} | set(search_sweep.ids(self.runs_dir)))
        if ref in ids:
            return ref
        matches = [i for i in ids if i.startswith(ref)]
        if not matches:
            raise UnknownRunError(f"no sweep matches {ref!r}")
        if len(matches) > 1:
            raise AmbiguousRunError(f"{ref!r} matches {len(matches)} sweeps: {', '.join(matches)}")
        return matches[0]

    def get_sweep(self, ref: str) -> SweepSummary:
        sweep_id = self.resolve_sweep_id(ref)
        return _summarise(sweep_id, self.list_runs(sweep=sweep_id))

    def sweep_trials(self, ref: str, scanner: TrialScanner | None = None) -> TrialTable:
        """The trial table of a sweep (id or prefix); pass the same `scanner` again to read
        only what its runs appended since."""
        sweep_id = self.resolve_sweep_id(ref)
        return trial_table(self.runs_dir, sweep_id, self.list_runs(sweep=sweep_id), scanner)

    def stop_sweep(
        self,
        ref: str,
        *,
        kill: bool = False,
        grace_s: float = control.DEFAULT_GRACE_S,
        wait: bool = False,
    ) -> list[RunRecord]:
        """Stop (or kill) every live run of a sweep; queued ones first, so none starts."""
        sweep_id = self.resolve_sweep_id(ref)
        if search_sweep.is_search_sweep(self.runs_dir, sweep_id):
            # Its driver asks no more and exits; once it has, no trial can appear behind us.
            directory = search_sweep.sweep_dir(self.runs_dir, sweep_id)
            search_sweep.write_state(directory, stopped_at=time.time())
            search_sweep.wait_for_driver_exit(directory)
        runs = self.list_runs(sweep=sweep_id)
        ordered = [r for r in runs if r.status is RunStatus.QUEUED] + [
            r for r in runs if r.status is RunStatus.RUNNING
        ]
        results = []
        for record in ordered:
            try:
                results.append(self._stop(record, kill=kill, grace_s=grace_s, wait=wait))
            except ManagerError:
                results.append(self.get_run(record.run_dir.name))  # it ended meanwhile
        return results

    @writes_project
    def resume_sweep(self, ref: str) -> list[RunRecord]:
        """Resume every stopped, failed or lost run of a sweep (through the queue)."""
        sweep_id = self.resolve_sweep_id(ref)
        search = search_sweep.is_search_sweep(self.runs_dir, sweep_id)
        # A search sweep's failed and lost trials are told to its study already: only the
        # trials its stop paused go on (one stopped before its first checkpoint has nothing
        # to resume: the driver tells the study it failed).
        wanted = (
            (RunStatus.STOPPED,)
            if search
            else (RunStatus.STOPPED, RunStatus.FAILED, RunStatus.LOST)
        )
        resumed = []
        runs = sorted(self.list_runs(sweep=sweep_id), key=queue.queue_sort_key)
        for record in runs:
            if record.status in wanted:
                self._require_resume_trust(record)
        for record in runs:
            if record.status not in wanted:
                continue
            if record.backend == "slurm":  # a new job each, submitted now
                resumed.append(self.resume(record.id))
            elif search and record.started_at is not None and not record.last_checkpoint.is_file():
                continue
            else:
                resumed.append(self._requeue_for_resume(record))
        self.advance_queue()
        directory = search_sweep.sweep_dir(self.runs_dir, sweep_id)
        if search:  # its driver carries on
            search_sweep.write_state(directory, stopped_at=None)
            if search_sweep.needs_driver(directory):
                search_sweep.start_driver(self.python, self.recipe_module, self.runs_dir, sweep_id)
        return [read_run(r.run_dir) for r in resumed]

    @writes_project
    def search_sweep(
        self,
        config: Path | str,
        overrides: Sequence[str],
        settings: search_sweep.SweepSettings,
        *,
        gpus: int | None = None,
        slurm: bool = False,
    ) -> str:
        """Start a search sweep (`sweep CONFIG --trials N`): its driver asks Optuna for points,
        runs them and prunes the weak ones (core.sweep_driver). Returns the sweep's id."""
        project: Any = self
        return search_sweep.start(project, config, overrides, settings, gpus=gpus, slurm=slurm)


def _summarise(sweep_id: str, runs: Sequence[RunRecord]) -> SweepSummary:
    counts = Counter(r.status.value for r in runs)
    ordered = tuple((s.value, counts[s.value]) for s in RunStatus if counts[s.value])
    created = min((r.created_at for r in runs if r.created_at is not None), default=None)
    return SweepSummary(
        id=sweep_id,
        config=runs[0].config if runs else None,
        run_ids=tuple(r.id for r in sorted(runs, key=queue.queue_sort_key)),
        counts=ordered,
        created_at=created,
    )
