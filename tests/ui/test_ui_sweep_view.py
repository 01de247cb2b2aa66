"""The sweep view (`t` on a run of a sweep): its table of trials sorted by key and by a
click on a header, the best trial highlighted, pruned trials dimmed on the overlaid chart,
enter for a trial's dashboard, S / R as on the dashboard, and a refresh as a trial logs."""

from __future__ import annotations

import json
from pathlib import Path

from autotrain_tui.core.trials import sweep_json_path
from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.screens.confirm import ConfirmScreen
from autotrain_tui.ui.screens.sweep_view import SweepScreen
from autotrain_tui.ui.widgets.compare_chart import CompareChart
from tests.sweep_trials import LEARNING_RATES, SearchSweep
from tests.ui.fixtures import NOW, T0, FixedSampler, write_run
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import SIZE, notices, until

FIXED_SWEEP = "sweep-digits-20251125-094640-5ea1"
# (status, lr, loss scale, steps done): val/acc = 1 - loss / 3, so the lowest scale wins.
FIXED_TRIALS = (
    ("completed", 0.003, 1.0, 200),
    ("pruned", 0.1, 1.4, 40),
    ("completed", 0.001, 0.8, 200),
    ("running", 0.03, 1.2, 80),
)


def fixed_trial_id(number: int) -> str:
    return f"digits-20251125-0946{40 + number}-t00{number}"


def write_fixed_sweep(root: Path) -> None:
    """A search sweep of four hand-written trials with fixed numbers (one running: its pid
    is the test process's own), as the sweep driver would leave them."""
    for number, (status, lr, scale, done) in enumerate(FIXED_TRIALS):
        run_dir = write_run(
            root,
            fixed_trial_id(number),
            status,
            lr=lr,
            loss_scale=scale,
            done=done,
            sweep=FIXED_SWEEP,
            started_at=T0 + number,
            ended=status != "running",
            alive_pid=status == "running",
        )
        record = json.loads((run_dir / "run.json").read_text())
        record["trial"] = {"number": number, "params": {"optimizer.lr": str(lr)}}
        (run_dir / "run.json").write_text(json.dumps(record))
    path = sweep_json_path(root / "runs", FIXED_SWEEP)
    path.parent.mkdir(parents=True)
    pruner = {"name": "asha", "min_resource": 1, "reduction_factor": 3, "max_resource": 9}
    path.write_text(json.dumps({"metric": "val/acc", "mode": "max", "pruner": pruner}))


def table_rows(screen: SweepScreen) -> list[list[str]]:
    view = screen.query_one("#sweep-trials")
    return [[str(cell) for cell in view.get_row_at(i)] for i in range(view.row_count)]  # type: ignore[attr-defined]


async def test_sweep_view_of_real_trials(search_sweep: SearchSweep) -> None:
    app = make_app(search_sweep.root, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.records) == 3, "the runs listed")
        app.show_run(app.records[search_sweep.run_ids[1]])
        await pilot.press("t")
        screen = await until(
            pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen, "the view"
        )
        await until(pilot, lambda: screen.table is not None, "the table read")
        table = screen.table
        assert table is not None and table.best is not None
        rows = table_rows(screen)
        assert [r[0].strip(" *") for r in rows] == ["0", "1", "2"]
        assert [r[2] for r in rows] == list(LEARNING_RATES)
        best = [r for r in rows if r[0].startswith("*")]
        assert len(best) == 1 and best[0][-1] == table.best.run_id
        assert {r[-1] for r in rows if r[1] == "pruned"} == {search_sweep.pruned}
        # The cursor starts on the run the view was opened from.
        assert rows[screen.query_one("#sweep-trials").cursor_row][-1] == search_sweep.run_ids[1]  # type: ignore[attr-defined]
        chart = screen.query_one(CompareChart)
        await until(pilot, lambda: len(chart.records) == 3, "the curves")
        assert chart.current_metric() == "val/acc"
        assert chart.dimmed == {search_sweep.pruned} and chart.highlighted == table.best.run_id

        await pilot.press("o")  # sort: the next column (status)
        assert screen.sort_column == "status"
        assert [r[1] for r in table_rows(screen)] == ["completed", "completed", "pruned"]
        # A click on the header of `best` sorts by it (best first), a second one reverses.
        line = next(i for i, text in enumerate(screen_text(app).splitlines()) if " best " in text)
        column = screen_text(app).splitlines()[line].index(" best ") + 2
        await pilot.click(offset=(column, line))
        assert screen.sort_column == "best" and not screen.descending
        assert table_rows(screen)[0][-1] == table.best.run_id
        await pilot.click(offset=(column, line))
        assert screen.descending and table_rows(screen)[-1][-1] == table.best.run_id
        await pilot.press("O")
        assert not screen.descending

        # enter: that trial's dashboard.
        view = screen.query_one("#sweep-trials")
        view.focus()
        view.move_cursor(row=1)  # type: ignore[attr-defined]
        chosen = table_rows(screen)[1][-1]
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, SweepScreen), "back to the app")
        assert app.dashboard.record is not None and app.dashboard.record.id == chosen


async def test_sweep_view_refreshes_and_acts_on_the_sweep(ui_project: Path) -> None:
    write_fixed_sweep(ui_project)
    write_run(ui_project, "digits-20251125-094700-solo", "completed", started_at=T0 + 60)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), clock=lambda: NOW, poll_s=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.records) == 5, "the runs listed")
        app.show_run(app.records["digits-20251125-094700-solo"])
        await pilot.press("t")
        await until(pilot, lambda: any("not part of a sweep" in n for n in notices(app)), "why")
        app.show_run(app.records[fixed_trial_id(0)])
        await pilot.press("t")
        screen = await until(
            pilot, lambda: isinstance(app.screen, SweepScreen) and app.screen, "the view"
        )
        await until(pilot, lambda: screen.table is not None, "the table read")
        assert screen.table is not None and screen.table.best is not None
        assert screen.table.best.run_id == fixed_trial_id(2)

        # A running trial logs a better value: the view moves the highlight by itself.
        metrics = ui_project / "runs" / fixed_trial_id(3) / "metrics.jsonl"
        with metrics.open("a") as handle:
            event = {"step": 100, "epoch": 5, "metrics": {"val/acc": 0.999}}
            handle.write(json.dumps(event) + "\n")
        await until(
            pilot,
            lambda: (
                screen.table is not None
                and screen.table.best is not None
                and screen.table.best.run_id == fixed_trial_id(3)
            ),
            "the new best trial",
            10,
        )
        assert any(r[0].startswith("*") and r[-1] == fixed_trial_id(3) for r in table_rows(screen))

        await pilot.press("S")  # as on the dashboard: asks first, about the whole sweep
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert f"Stop sweep {FIXED_SWEEP}? Its 1 queued or running run(s)" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back in the sweep view")
        await pilot.press("R")
        await until(
            pilot,
            lambda: f"sweep {FIXED_SWEEP} has no stopped, failed or lost run" in notices(app)[-1],
            "R's answer",
        )

        # A damaged sweep.json: one line naming it, said once, not at every refresh.
        path = sweep_json_path(ui_project / "runs", FIXED_SWEEP)
        path.write_text('{"metric": "val/acc", "mode": "best"}')
        await until(pilot, lambda: str(path) in notices(app)[-1], "the file named", 10)
        await pilot.pause(2.5)  # two more refreshes
        assert sum(str(path) in n for n in notices(app)) == 1
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SweepScreen), "closed")
        assert "Sweep " not in screen_text(app)
