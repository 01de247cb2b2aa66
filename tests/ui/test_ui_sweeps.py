"""Sweep actions from the dashboard (S stops the shown run's whole sweep after asking, R
resumes it), the long runs list, and the editor's on-disk check that runs in a worker."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from autotrain_tui.ui.app import FIRST_POLL_RUNS, make_app
from autotrain_tui.ui.editing import DiskState
from autotrain_tui.ui.messages import FileChangedOnDisk
from autotrain_tui.ui.screens.confirm import ConfirmScreen
from autotrain_tui.ui.widgets.sidebar import MAX_RUNS_SHOWN
from tests.ui.fixtures import NOW, T0, FixedSampler, write_run
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import SIZE, notices, until

SWEEP = "digits-sw-abcd"


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two silent processes, each in its own group, standing in for a sweep's runs."""
    procs = [subprocess.Popen(["sleep", "600"], start_new_session=True) for _ in range(2)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


async def test_stop_sweep_asks_then_stops_every_live_run(
    ui_project: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    ids = [f"digits-20251125-0946{40 + i}-aaa{i}" for i in range(3)]
    for i, proc in enumerate(sleepers):
        write_run(ui_project, ids[i], "running", ended=False, sweep=SWEEP, pid=proc.pid)
    write_run(ui_project, ids[2], "completed", sweep=SWEEP, started_at=T0 - 900)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.records) == 3, "the runs listed")
        app.show_run(app.records[ids[0]])
        await until(pilot, lambda: f"· sweep {SWEEP}" in screen_text(app), "the sweep shown", 10)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert f"Stop sweep {SWEEP}? Its 2 queued or running run(s)" in app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: f"stopping sweep {SWEEP}: 2 run(s)" in notices(app), "notice")
        _, alive = psutil.wait_procs([psutil.Process(p.pid) for p in sleepers], timeout=10)
        assert not alive, "a run of the sweep survived its SIGTERM"


async def test_sweep_actions_explain_what_they_cannot_do(ui_project: Path) -> None:
    write_run(ui_project, "digits-20251125-094640-solo", "completed")
    write_run(ui_project, "digits-20251125-094641-swp0", "failed", sweep=SWEEP, done=80)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.records) == 2, "the runs listed")
        app.show_run(app.records["digits-20251125-094640-solo"])
        await pilot.press("S")
        await until(
            pilot, lambda: any("not part of a sweep" in n for n in notices(app)), "no sweep"
        )
        app.show_run(app.records["digits-20251125-094641-swp0"])
        await pilot.press("S")
        await until(
            pilot, lambda: f"sweep {SWEEP} has no queued or running run to stop" in notices(app), ""
        )
        await pilot.press("R")  # failed, but it never wrote a checkpoint to resume from
        await until(
            pilot, lambda: any("has no checkpoints/last.ckpt" in n for n in notices(app)), "why"
        )


async def test_a_long_runs_list_shows_the_newest_and_filters_to_the_rest(
    ui_project: Path,
) -> None:
    count = MAX_RUNS_SHOWN + 5
    for i in range(count):
        write_run(ui_project, f"past-{i:04d}", "completed", steps=20, started_at=T0 + i)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: f"Runs ({count})" in screen_text(app), "the runs counted")
        runs = app.sidebar.query_one("#runs")
        # The first poll lists a screenful, newest first; the next ones the newest 200.
        assert runs.option_count == FIRST_POLL_RUNS + 1
        assert runs.get_option_at_index(0).id == f"past-{count - 1:04d}"
        older = count - FIRST_POLL_RUNS
        more = runs.get_option_at_index(FIRST_POLL_RUNS).prompt
        assert f"… {older} older (/ to filter)" in str(more)
        await until(pilot, lambda: runs.option_count == MAX_RUNS_SHOWN + 1, "the full list", 10)
        runs.scroll_end(animate=False)
        await until(pilot, lambda: "… 5 older (/ to filter)" in screen_text(app), "more", 10)
        app.sidebar.query_one("#filter").value = "past-0002"
        await until(pilot, lambda: "Runs (1/205)" in screen_text(app), "the filtered count")
        assert "past-0002" in screen_text(app)


async def test_disk_check_news_that_a_save_made_stale_is_ignored(ui_project: Path) -> None:
    config = ui_project / "configs" / "digits.yaml"
    posted: list[FileChangedOnDisk] = []

    def hook(message: object) -> None:
        if isinstance(message, FileChangedOnDisk):
            posted.append(message)

    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.5)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path == config, "the default config")
        known = app.editor.disk_state
        config.write_text("# changed by someone else\n" + config.read_text())
        await until(pilot, lambda: posted, "the worker's news")
        assert posted[0].path == config and posted[0].known == known
        assert posted[0].seen == DiskState.of(config)
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the reload offer")
        await pilot.press("n")  # keep mine
        await pilot.pause(0.1)
        # News about a state the editor has moved past (a save since) asks nothing.
        app.post_message(FileChangedOnDisk(config, known, None))
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
