"""What a newcomer sees at small sizes (issue #11): compare at 80x24 shows every run's
columns; a run in the runs list stays two lines when a scrollbar appears; two points of a
sweep say what sets them apart."""

from __future__ import annotations

from pathlib import Path

from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.screens.compare import CompareScreen
from autotrain_tui.ui.widgets.sidebar import fit_run_id
from tests.ui.fixtures import T0, FixedSampler, write_run
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import until

A, B = "digits-20251125-094640-aaaa", "digits-20251125-095000-bbbb"


async def test_compare_at_80x24_shows_both_runs_columns(ui_project: Path) -> None:
    write_run(ui_project, A, "completed", lr=0.003, started_at=T0)
    write_run(ui_project, B, "failed", lr=0.1, loss_scale=1.4, done=80, started_at=T0 + 200)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.sidebar.records) == 2, "the runs listed")
        app.sidebar.marked = {A, B}
        app.action_compare()
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), "compare")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await until(pilot, lambda: all(h.end_status for h in screen.histories.values()), "read")
        await pilot.pause(0.3)
        shown = screen_text(app)
        for run_id in (A, B):  # each run's column header, whole, in both tables
            assert shown.count(f"…{run_id[-15:]}") == 2, shown
        assert "0.1    " in shown or " 0.1 " in shown, shown  # B's learning rate, in the diff
        assert "(best " in shown.split(f"…{B[-15:]}")[1], shown  # B's metrics column


async def test_runs_stay_two_lines_with_a_scrollbar_and_sweep_points_differ(
    ui_project: Path,
) -> None:
    for i in range(30):
        write_run(ui_project, f"digits-20251125-0946{i:02d}-aaaa", "completed", started_at=T0 + i)
    for i, lr in enumerate((0.01, 0.003)):
        run_id = f"digits-20251125-1000{i:02d}-cccc"
        write_run(ui_project, run_id, "completed", lr=lr, started_at=T0 + 100 + i, sweep="s1")
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.sidebar.records) == 32, "the runs listed")
        await pilot.pause(0.3)
        lines = [line[:31] for line in screen_text(app).splitlines()]
        first = next(i for i, line in enumerate(lines) if "digits-20251125-100001-cccc" in line)
        # The sweep's two points: id, progress, then the override that sets each apart.
        assert lines[first + 2].strip() == "optimizer.lr=0.003", lines[first : first + 6]
        assert "digits-20251125-100000-cccc" in lines[first + 3]
        assert lines[first + 5].strip() == "optimizer.lr=0.01", lines[first : first + 6]
        # Then plain runs, each an id line and a details line, ids whole (the scrollbar is
        # there: 32 runs do not fit).
        plain = lines[first + 6 : -1]  # up to the footer
        ids = [line for line in plain[0::2] if line.strip()]
        assert all("digits-20251125-0946" in line and "-aaaa" in line for line in ids), plain
        assert all("e10/10" in line for line in plain[1::2] if line.strip()), plain


def test_a_long_run_id_keeps_its_distinguishing_tail() -> None:
    assert fit_run_id("digits-20251125-094640-a3f9") == "digits-20251125-094640-a3f9"
    assert fit_run_id("image_folder-20251125-094640-a3f9") == "image_…20251125-094640-a3f9"
