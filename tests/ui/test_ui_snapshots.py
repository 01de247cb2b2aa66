"""Snapshots of the main views at 80x24 and 120x40 (the dashboard at 200x60 too), from fixed
run directories, a fixed clock and a fixed sampler (its GPUs are fakes, labelled
"FAKE GPU (tests)" on screen)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.pilot import Pilot

from autotrain_tui.ui.app import AutotrainApp, make_app
from autotrain_tui.ui.metric_history import MetricHistory
from tests.ui.fixtures import NOW, T0, FixedSampler, write_run

SIZES = [(80, 24), (120, 40)]
# The dashboard also at a large terminal: the chart and log take the room, the sidebar does not.
LARGE = (200, 60)


def fixed_app(root: Path) -> AutotrainApp:
    write_run(root, "digits-20251125-094640-aaaa", "completed", lr=0.003, started_at=T0)
    write_run(
        root,
        "digits-20251125-095000-bbbb",
        "failed",
        lr=0.1,
        loss_scale=1.4,
        done=80,
        started_at=T0 + 200,
    )
    write_run(
        root,
        "digits-20251125-095500-cccc",
        "running",
        lr=0.001,
        loss_scale=0.8,
        done=120,
        started_at=T0 + 300,
        ended=False,
        alive_pid=True,
    )
    return make_app(root, sampler=FixedSampler(), clock=lambda: NOW, poll_s=0.2, sample_s=3600)


async def until(pilot: Pilot[object], predicate, what: str, s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for `predicate` (a wait, not a timing check: `s` only bounds a hang)."""
    deadline = time.monotonic() + s
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_editor_view(snap_compare, ui_project: Path, size: tuple[int, int]) -> None:
    app = fixed_app(ui_project)

    async def settle(pilot: Pilot[object]) -> None:
        await app.panes_mounted()
        # The full check is a `recipe check` process (torch, Lightning): ~4 s on a quiet
        # 2-core machine, 13 s at a load average of 6.
        await until(pilot, lambda: app.editor.full_check == "ok", "the full check", s=120)
        await until(pilot, lambda: len(app.sidebar.records) == 3, "the runs listed")
        app.editor.text_area.cursor_blink = False  # the cursor shown, whatever the timing
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", [*SIZES, LARGE], ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_view(snap_compare, ui_project: Path, size: tuple[int, int]) -> None:
    app = fixed_app(ui_project)

    async def settle(pilot: Pilot[object]) -> None:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.sidebar.records) == 3, "the runs listed")
        app.show_run(app.records["digits-20251125-095500-cccc"])
        await until(
            pilot,
            lambda: (
                app.dashboard.history is not None
                and len(app.dashboard.history.series.get("train/loss", ())) == 24
                and app.dashboard.log_panel.line_count == 30
            ),
            "the run's metrics and log",
        )
        await until(pilot, lambda: app.dashboard.query_one("#system").snapshot, "a sample")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_view(snap_compare, ui_project: Path, size: tuple[int, int]) -> None:
    app = fixed_app(ui_project)

    async def settle(pilot: Pilot[object]) -> None:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.sidebar.records) == 3, "the runs listed")
        await pilot.press("escape")  # leave the editor
        app.sidebar.marked = {"digits-20251125-094640-aaaa", "digits-20251125-095000-bbbb"}
        app.action_compare()
        await until(
            pilot,
            lambda: all(
                h.end_status
                for h in getattr(app.screen, "histories", {"-": MetricHistory()}).values()
            ),
            "both runs' metrics read to their end",
        )
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_sweep_view(snap_compare, ui_project: Path) -> None:
    from tests.ui.test_ui_sweep_view import fixed_trial_id, write_fixed_sweep

    write_fixed_sweep(ui_project)
    app = make_app(ui_project, sampler=FixedSampler(), clock=lambda: NOW, poll_s=0.2)

    async def settle(pilot: Pilot[object]) -> None:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.sidebar.records) == 4, "the trials listed")
        app.show_run(app.records[fixed_trial_id(1)])
        await pilot.press("t")
        await until(
            pilot,
            lambda: (
                all(
                    h.end_status or h.progress.step == 80
                    for h in getattr(app.screen, "histories", {"-": MetricHistory()}).values()
                )
                and len(getattr(app.screen, "histories", {})) == 4
            ),
            "every trial's metrics read to their end",
        )
        # The table is rebuilt (columns sized to their cells) whenever a refresh (each
        # second, from a thread) reads something new: wait until one passes with no change,
        # or the picture may catch a rebuild's first frame (seen under load: cut columns).
        for _ in range(30):
            shown = getattr(app.screen, "table", None)
            await pilot.pause(1.2)
            if shown is not None and getattr(app.screen, "table", None) is shown:
                break
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)
