"""A sweep's trial table: one row per run (params, status, best value, rung), sortable.

Both kinds of sweep get the same table. A search sweep (issue #16) has
`runs/.sweeps/<id>/sweep.json` naming its metric, mode and pruner, and each run's `run.json`
a `trial` {number, params} (docs/run-directory.md). A grid sweep has neither: its metric is
the monitored one its runs announce in their `start` event (the one the dashboard calls
best), its trial numbers are the run order, its params the overrides that differ between
its runs.

Reading is incremental and cheap: a `TrialScanner` keeps one `LineTail` per run and only
parses the lines that hold the sweep's metric, so a view that refreshes every second reads
only what runs appended since, and a finished run is never parsed twice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.queue import queue_sort_key
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.core.tail import LineTail

SWEEPS_DIR = ".sweeps"
SWEEP_JSON = "sweep.json"
DEFAULT_METRIC = "val/loss"
# The fixed columns, in display order; a table adds one column per param after `status`.
COLUMNS = ("trial", "status", "best", "epoch", "epochs", "rung", "run")


@dataclass(frozen=True)
class Pruner:
    """Successive halving's rungs: a trial reaches rung r at min_resource * eta**r epochs."""

    min_resource: int
    reduction_factor: int
    max_resource: int | None = None

    def rung(self, epochs: int) -> int | None:
        """The largest r with min_resource * reduction_factor**r <= epochs (None below rung 0)."""
        if self.min_resource <= 0 or self.reduction_factor < 2 or epochs < self.min_resource:
            return None
        rung, resource = 0, self.min_resource * self.reduction_factor
        while resource <= epochs:
            rung, resource = rung + 1, resource * self.reduction_factor
        return rung


@dataclass(frozen=True)
class SweepDefinition:
    """What the table needs from `sweep.json` (None of it exists for a grid sweep)."""

    metric: str
    mode: str  # "min" or "max"
    pruner: Pruner | None


def sweep_json_path(runs_dir: Path, sweep_id: str) -> Path:
    return runs_dir / SWEEPS_DIR / sweep_id / SWEEP_JSON


def read_definition(runs_dir: Path, sweep_id: str) -> SweepDefinition | None:
    """The search sweep's definition, or None for a grid sweep (no `sweep.json`)."""
    path = sweep_json_path(runs_dir, sweep_id)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise ManagerError(
            f"cannot read {path} ({error}): restore it or delete the sweep"
        ) from None
    try:
        metric, mode = data["metric"], data.get("mode", "min")
        if not isinstance(metric, str) or mode not in ("min", "max"):
            raise ValueError("metric must be a name, mode min or max")
        pruner = data.get("pruner") or {}
        if pruner.get("name", "none") in ("none", None):
            return SweepDefinition(metric, mode, None)
        max_resource = pruner.get("max_resource")
        return SweepDefinition(
            metric,
            mode,
            Pruner(
                int(pruner["min_resource"]),
                int(pruner["reduction_factor"]),
                int(max_resource) if max_resource is not None else None,
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ManagerError(
            f"{path} is damaged ({type(error).__name__}: {error}): it needs metric, mode "
            f"and pruner {{name, min_resource, reduction_factor}} (docs/run-directory.md)"
        ) from None


@dataclass(frozen=True)
class Trial:
    """One row of the table."""

    number: int
    run_id: str
    status: RunStatus
    params: tuple[tuple[str, str], ...]
    best: float | None  # the best value of the sweep's metric so far, under its mode
    best_epoch: int | None  # the epoch it was reached, counted from 1
    epochs: int  # epochs validated so far (the resource successive halving counts)
    rung: int | None  # None: no pruner, or below its first rung
    is_best: bool = False

    def param(self, name: str) -> str | None:
        return dict(self.params).get(name)


@dataclass(frozen=True)
class TrialTable:
    sweep_id: str
    kind: str  # "search" (sweep.json) or "grid"
    metric: str
    mode: str
    pruner: Pruner | None
    param_names: tuple[str, ...]
    trials: tuple[Trial, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (*COLUMNS[:2], *self.param_names, *COLUMNS[2:])

    @property
    def best(self) -> Trial | None:
        return next((t for t in self.trials if t.is_best), None)

    def sorted(self, column: str, descending: bool = False) -> TrialTable:
        """The rows ordered by `column` (a name of `columns`); rows without a value last.

        `best` sorts best first under the sweep's mode (descending: worst first); a param
        sorts as numbers when all its values are numbers.
        """
        if column not in self.columns:
            raise ManagerError(f"no column {column!r}: sort by one of {', '.join(self.columns)}")
        keyed = [(self._key(t, column), t) for t in self.trials]
        present = [kt for kt in keyed if kt[0] is not None]
        missing = [t for k, t in keyed if k is None]
        if column in self.param_names and not all(isinstance(k, float) for k, _ in present):
            present = [(str(k), t) for k, t in present]
        present.sort(key=lambda kt: kt[1].number)
        present.sort(key=lambda kt: kt[0], reverse=descending)  # stable: ties by number
        return replace(self, trials=tuple([t for _, t in present] + missing))

    def _key(self, trial: Trial, column: str) -> Any:
        if column == "best":
            if trial.best is None:
                return None
            return trial.best if self.mode == "min" else -trial.best
        if column in self.param_names:
            value = trial.param(column)
            return None if value is None else _number_or_text(value)
        return {
            "trial": trial.number,
            "status": trial.status.value,
            "epoch": trial.best_epoch,
            "epochs": trial.epochs,
            "rung": trial.rung,
            "run": trial.run_id,
        }[column]


@dataclass
class _RunScan:
    """What one run's metrics said so far, for one metric."""

    tail: LineTail
    needle: str
    best: float | None = None
    best_epoch: int | None = None
    epochs: int = 0


class TrialScanner:
    """Reads the runs' `metrics.jsonl` incrementally: keep one for a view that refreshes."""

    def __init__(self) -> None:
        self._scans: dict[tuple[str, str, str], _RunScan] = {}
        self._monitors: dict[str, tuple[str, str]] = {}  # run id -> (metric, mode) announced

    def monitor(self, record: RunRecord) -> tuple[str, str] | None:
        """The (metric, mode) the run's `start` event announced (its first line), if any."""
        known = self._monitors.get(record.id)
        if known is not None:
            return known
        try:
            with open(record.metrics_jsonl, "rb") as handle:
                first = json.loads(handle.readline(64 * 1024))
        except (OSError, ValueError):
            return None
        if not isinstance(first, dict) or not isinstance(first.get("monitor"), str):
            return None
        mode = "max" if first.get("mode") == "max" else "min"
        self._monitors[record.id] = found = (first["monitor"], mode)
        return found

    def scan(self, record: RunRecord, metric: str, mode: str) -> _RunScan:
        key = (record.id, metric, mode)
        scan = self._scans.get(key)
        if scan is None:
            scan = self._scans[key] = _RunScan(LineTail(record.metrics_jsonl), f'"{metric}"')
        if scan.tail.truncations:  # the file was replaced: start the count over
            scan.best, scan.best_epoch, scan.epochs = None, None, 0
            scan.tail.truncations = 0
        for line in scan.tail.read_lines():
            if scan.needle not in line:
                continue  # most lines are train steps: never parsed
            try:
                event = json.loads(line)
                value = event["metrics"][metric]
                epoch = int(event.get("epoch") or 0)
            except (ValueError, KeyError, TypeError):
                continue
            if not isinstance(value, int | float) or math.isnan(value):
                continue
            scan.epochs = max(scan.epochs, epoch + 1)
            if (
                scan.best is None
                or (mode == "min" and value < scan.best)
                or (mode == "max" and value > scan.best)
            ):
                scan.best, scan.best_epoch = float(value), epoch + 1
        return scan

    def forget_except(self, run_ids: set[str]) -> None:
        self._scans = {k: v for k, v in self._scans.items() if k[0] in run_ids}
        self._monitors = {k: v for k, v in self._monitors.items() if k in run_ids}


def trial_table(
    runs_dir: Path,
    sweep_id: str,
    records: Sequence[RunRecord],
    scanner: TrialScanner | None = None,
) -> TrialTable:
    """The table of a sweep's runs (`records`: the runs sharing `sweep_id`)."""
    scanner = scanner or TrialScanner()
    ordered = sorted(records, key=queue_sort_key)
    definition = read_definition(runs_dir, sweep_id)
    if definition is not None:
        kind, metric, mode, pruner = "search", definition.metric, definition.mode, definition.pruner
    else:
        kind, pruner = "grid", None
        announced = (scanner.monitor(r) for r in ordered)
        metric, mode = next((m for m in announced if m), (DEFAULT_METRIC, "min"))
    params, names = _params(ordered, search=definition is not None)
    rows = []
    for index, record in enumerate(ordered):
        scan = scanner.scan(record, metric, mode)
        rows.append(
            Trial(
                number=_trial_number(record, index),
                run_id=record.id,
                status=record.status,
                params=params[record.id],
                best=scan.best,
                best_epoch=scan.best_epoch,
                epochs=scan.epochs,
                rung=pruner.rung(scan.epochs) if pruner else None,
            )
        )
    scanner.forget_except({r.id for r in ordered})
    scored = [t for t in rows if t.best is not None]
    if scored:
        sign = 1.0 if mode == "min" else -1.0
        winner = min(scored, key=lambda t: (sign * t.best, t.number))  # type: ignore[operator]
        rows = [replace(t, is_best=True) if t is winner else t for t in rows]
    rows.sort(key=lambda t: (t.number, t.run_id))
    return TrialTable(sweep_id, kind, metric, mode, pruner, names, tuple(rows))


def _trial_number(record: RunRecord, index: int) -> int:
    trial = record.extra.get("trial")
    number = trial.get("number") if isinstance(trial, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else index


def _params(
    ordered: Sequence[RunRecord], *, search: bool
) -> tuple[dict[str, tuple[tuple[str, str], ...]], tuple[str, ...]]:
    """Each run's params and the param columns: a search trial's `trial.params`; for a grid,
    the overrides whose value differs between the runs (the point)."""
    per_run: dict[str, dict[str, str]] = {}
    for record in ordered:
        trial = record.extra.get("trial")
        given = trial.get("params") if search and isinstance(trial, dict) else None
        if isinstance(given, dict):
            per_run[record.id] = {str(k): _text(v) for k, v in given.items()}
        else:
            pairs = (o.partition("=") for o in record.overrides)
            per_run[record.id] = {k.strip(): v for k, sep, v in pairs if sep}
    names: list[str] = []
    for values in per_run.values():
        names.extend(n for n in values if n not in names)
    if not search and len(per_run) > 1:
        names = [n for n in names if len({v.get(n) for v in per_run.values()}) > 1]
    keep = set(names)
    params = {
        run_id: tuple((n, v) for n, v in values.items() if n in keep)
        for run_id, values in per_run.items()
    }
    return params, tuple(names)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _number_or_text(value: str) -> float | str:
    try:
        number = float(value)
    except ValueError:
        return value
    return value if math.isnan(number) else number
