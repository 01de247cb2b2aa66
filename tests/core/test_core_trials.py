"""The trial table of a sweep, from hand-written run directories whose answers are worked out
by hand: best value and its epoch under the mode, epochs reached, ASHA rung, the best trial,
the varying params of a grid, sorting, and a damaged sweep.json named in one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from autotrain_tui.core import ManagerError, Project
from autotrain_tui.core.runs import read_run
from autotrain_tui.core.trials import Pruner, TrialScanner, sweep_json_path, trial_table

SEARCH = "sweep-tiny-20251125-094640-5ea1"
GRID = "sweep-tiny-20251125-094700-a11d"


def write_trial_run(
    runs: Path,
    run_id: str,
    status: str,
    values: list[float],
    *,
    sweep: str,
    created_at: float,
    overrides: list[str],
    trial: dict | None = None,
    metric: str = "val/acc",
    monitor: tuple[str, str] = ("val/acc", "max"),
) -> Path:
    """A run directory: run.json, and a metrics.jsonl with train steps between validations
    whose `metric` takes `values` at epochs 0, 1, …"""
    run_dir = runs / run_id
    run_dir.mkdir(parents=True)
    record = {
        "version": 3,
        "id": run_id,
        "config": "configs/tiny.yaml",
        "overrides": overrides,
        "status": status,
        "sweep": sweep,
        "created_at": created_at,
        "started_at": created_at + 1,
        "ended_at": created_at + 9,
    }
    if trial is not None:
        record["trial"] = trial
    (run_dir / "run.json").write_text(json.dumps(record))
    start = {"event": "start", "step": 0, "monitor": monitor[0], "mode": monitor[1]}
    lines = [start]
    for epoch, value in enumerate(values):
        for step in range(epoch * 4 + 1, epoch * 4 + 5):
            lines.append({"step": step, "epoch": epoch, "metrics": {"train/loss": 9.0 / step}})
        lines.append({"step": epoch * 4 + 4, "epoch": epoch, "metrics": {metric: value}})
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return run_dir


def write_sweep_json(runs: Path, sweep_id: str, **fields: object) -> None:
    path = sweep_json_path(runs, sweep_id)
    path.parent.mkdir(parents=True)
    definition = {
        "version": 1,
        "id": sweep_id,
        "kind": "search",
        "space": {"optimizer.lr": "loguniform(1e-4,1e-1)", "model.hidden": "choice(16,32)"},
        "trials": 4,
        "metric": "val/acc",
        "mode": "max",
        "pruner": {"name": "asha", "min_resource": 1, "reduction_factor": 3, "max_resource": 9},
    }
    path.write_text(json.dumps({**definition, **fields}))


@pytest.fixture
def search_runs(tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    t = 1_764_064_000.0
    table = [  # id, status, trial, lr, hidden, val/acc by epoch
        ("r-b", "completed", 0, "0.1", 16, [0.5, 0.7, 0.65, 0.8, 0.79, 0.81, 0.8, 0.82, 0.83]),
        ("r-a", "pruned", 1, "0.0003", 32, [0.3]),
        ("r-d", "pruned", 2, "0.01", 16, [0.4, 0.6, 0.55]),
        ("r-c", "queued", 3, "0.002", 32, []),
    ]
    for i, (run_id, status, number, lr, hidden, values) in enumerate(table):
        params = {"optimizer.lr": lr, "model.hidden": hidden}
        write_trial_run(
            runs,
            run_id,
            status,
            values,
            sweep=SEARCH,
            created_at=t + i,
            overrides=["trainer.max_epochs=9", f"optimizer.lr={lr}", f"model.hidden={hidden}"],
            trial={"number": number, "params": params},
        )
    write_sweep_json(runs, SEARCH)
    return runs


def rows(table) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [
        (t.number, t.run_id, t.status.value, t.params, t.best, t.best_epoch, t.epochs, t.rung)
        for t in table.trials
    ]


def test_search_sweep_table(search_runs: Path) -> None:
    records = [read_run(p) for p in search_runs.iterdir() if not p.name.startswith(".")]
    table = trial_table(search_runs, SEARCH, records)
    assert (table.kind, table.metric, table.mode) == ("search", "val/acc", "max")
    assert table.pruner == Pruner(1, 3, 9)
    assert table.param_names == ("optimizer.lr", "model.hidden")
    assert table.columns == (
        "trial", "status", "optimizer.lr", "model.hidden", "best", "epoch", "epochs", "rung", "run"
    )  # fmt: skip
    lr, hidden = "optimizer.lr", "model.hidden"
    # Rungs at 1, 3, 9 epochs: 9 epochs reach rung 2, 3 reach rung 1, 1 reaches rung 0.
    assert rows(table) == [
        (0, "r-b", "completed", ((lr, "0.1"), (hidden, "16")), 0.83, 9, 9, 2),
        (1, "r-a", "pruned", ((lr, "0.0003"), (hidden, "32")), 0.3, 1, 1, 0),
        (2, "r-d", "pruned", ((lr, "0.01"), (hidden, "16")), 0.6, 2, 3, 1),
        (3, "r-c", "queued", ((lr, "0.002"), (hidden, "32")), None, None, 0, None),
    ]
    assert table.best is not None and table.best.run_id == "r-b"
    assert [t.is_best for t in table.trials] == [True, False, False, False]


def test_sorting_by_any_column(search_runs: Path) -> None:
    records = [read_run(p) for p in search_runs.iterdir() if not p.name.startswith(".")]
    table = trial_table(search_runs, SEARCH, records)
    # best: best first under mode max; a trial without a value goes last either way.
    assert [t.number for t in table.sorted("best").trials] == [0, 2, 1, 3]
    assert [t.number for t in table.sorted("best", descending=True).trials] == [1, 2, 0, 3]
    # A param sorts as numbers (0.0003 < 0.002 < 0.01 < 0.1), not as text.
    assert [t.number for t in table.sorted("optimizer.lr").trials] == [1, 3, 2, 0]
    assert [t.number for t in table.sorted("status").trials] == [0, 1, 2, 3]
    assert [t.number for t in table.sorted("rung", descending=True).trials] == [0, 2, 1, 3]
    assert [t.run_id for t in table.sorted("run").trials] == ["r-a", "r-b", "r-c", "r-d"]
    with pytest.raises(ManagerError) as caught:
        table.sorted("lr")
    assert str(caught.value).startswith("no column 'lr': sort by one of trial, status, optimizer")


def test_grid_sweep_uses_monitor_run_order_and_varying_overrides(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for i, (lr, values) in enumerate([("3e-3", [0.9, 0.5, 0.6]), ("1e-3", [0.8, 0.7])]):
        write_trial_run(
            runs,
            f"g-{i}",
            "completed",
            values,
            sweep=GRID,
            created_at=1000.0 + i,  # g-0 first
            overrides=["trainer.max_epochs=3", f"optimizer.lr={lr}"],
            metric="val/loss",
            monitor=("val/loss", "min"),
        )
    project = Project(tmp_path)
    table = project.sweep_trials(GRID[:22])
    assert (table.kind, table.metric, table.mode, table.pruner) == ("grid", "val/loss", "min", None)
    assert table.param_names == ("optimizer.lr",)  # max_epochs is the same for both: no column
    assert rows(table) == [
        (0, "g-0", "completed", (("optimizer.lr", "3e-3"),), 0.5, 2, 3, None),
        (1, "g-1", "completed", (("optimizer.lr", "1e-3"),), 0.7, 2, 2, None),
    ]
    assert table.best is not None and table.best.run_id == "g-0"


def test_scanner_reads_only_what_was_appended(search_runs: Path) -> None:
    scanner = TrialScanner()
    live = search_runs / "r-c"
    record = read_run(live)
    assert scanner.scan(record, "val/acc", "max").best is None
    with (live / "metrics.jsonl").open("a") as handle:
        handle.write(json.dumps({"step": 4, "epoch": 0, "metrics": {"val/acc": math.nan}}) + "\n")
        handle.write(json.dumps({"step": 8, "epoch": 1, "metrics": {"val/acc": 0.9}}) + "\n")
        handle.write('{"step": 9, "epoch": 1, "metrics": {"val/acc": 0.99')  # half a line
    scan = scanner.scan(record, "val/acc", "max")
    assert (scan.best, scan.best_epoch, scan.epochs) == (0.9, 2, 2)  # NaN skipped, partial held
    assert scan.tail.offset == (live / "metrics.jsonl").stat().st_size


def test_damaged_sweep_json_is_one_line_naming_the_file(search_runs: Path) -> None:
    path = sweep_json_path(search_runs, SEARCH)
    path.write_text('{"metric": "val/acc", "mode": "best"}')
    with pytest.raises(ManagerError) as caught:
        trial_table(search_runs, SEARCH, [])
    assert str(caught.value) == (
        f"{path} is damaged (ValueError: metric must be a name, mode min or max): it needs "
        "metric, mode and pruner {name, min_resource, reduction_factor} (docs/run-directory.md)"
    )
    path.write_text('{"metric": "val/acc", "mod')
    with pytest.raises(ManagerError, match=r"^cannot read .*sweep\.json \(Unterminated string"):
        trial_table(search_runs, SEARCH, [])


@pytest.mark.parametrize(
    ("epochs", "rung"), [(0, None), (1, 0), (2, 0), (3, 1), (8, 1), (9, 2), (27, 3)]
)
def test_asha_rungs(epochs: int, rung: int | None) -> None:
    assert Pruner(1, 3).rung(epochs) == rung
    assert Pruner(2, 2).rung(epochs) == (None if epochs < 2 else int(math.log2(epochs / 2)))
