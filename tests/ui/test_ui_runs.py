"""Pilot tests that drive the real core and real runs of the recipe on a tiny config:
launch from the editor, see points arrive on the curve and lines in the log, stop and see
`stopped`, resume, kill (after confirming) with no process left, and the notifications."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from autotrain_tui.core.groups import group_members
from autotrain_tui.core.runs import RunStatus
from autotrain_tui.ui.app import AutotrainApp, make_app
from autotrain_tui.ui.screens.confirm import ConfirmScreen
from autotrain_tui.ui.screens.launch import LaunchScreen
from tests.ui.fixtures import FixedSampler

SIZE = (100, 32)


async def until(pilot: Pilot[object], predicate: Callable[[], object], what: str, s: float = 120):
    """Let the app run until `predicate()` is truthy (the timeout only guards a hang)."""
    for _ in range(int(s / 0.1)):
        value = predicate()
        if value:
            return value
        await pilot.pause(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def notices(app: AutotrainApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def launch_with(pilot: Pilot[object], app: AutotrainApp, overrides: str) -> str:
    await pilot.press("ctrl+o")
    await until(pilot, lambda: isinstance(app.screen, LaunchScreen), "the launch dialog")
    app.screen.query_one("#overrides", Input).value = overrides
    await pilot.press("enter")
    record = await until(pilot, lambda: app.dashboard.record, "the dashboard")
    return record.id


async def test_launch_watch_stop_resume_kill(ui_project: Path) -> None:
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3, sample_s=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config to open")
        assert app.editor.path == ui_project / "configs" / "digits.yaml"
        run_id = await launch_with(
            pilot, app, "trainer.max_epochs=40 model.hidden=[16] trainer.log_every_n_steps=2"
        )
        assert app.current_pane == "dashboard"
        chart = app.dashboard.chart
        await until(
            pilot,
            lambda: len(app.dashboard.history.series.get("train/loss", ())) >= 2,  # type: ignore[union-attr]
            "points on the loss curve",
        )
        await until(pilot, lambda: chart.draw_count and chart.drawn_version > 0, "a redraw")
        await until(pilot, lambda: app.dashboard.log_panel.line_count > 0, "log lines")
        # A draw of an earlier version (metrics, no loss yet) can be the latest on a busy
        # machine: the loss curve is waited for, not assumed drawn by the first redraw.
        await until(pilot, lambda: "train loss" in chart.plt.build(), "the loss curve drawn")
        await until(pilot, lambda: run_id in app.sidebar._shown_runs_ids(), "the run listed")

        # Stop: SIGTERM, the recipe checkpoints and exits as stopped; a notification says so.
        await pilot.press("s")
        await until(pilot, lambda: any("SIGKILL after 30s" in n for n in notices(app)), "stop")
        await until(
            pilot,
            lambda: app.records[run_id].status is RunStatus.STOPPED,
            "the run to be stopped",
        )
        await until(pilot, lambda: any(f"{run_id} stopped" in n for n in notices(app)), "notice")
        await until(
            pilot,
            lambda: "stopped" in str(app.dashboard.query_one("#run-header").render()),
            "header",
        )

        # Resume from last.ckpt in the same run directory.
        await pilot.press("r")
        await until(pilot, lambda: any(f"resumed {run_id}" in n for n in notices(app)), "resume")
        await until(
            pilot,
            lambda: app.records[run_id].status is RunStatus.RUNNING and app.records[run_id].pid,
            "the run to run again",
        )
        pgid = app.records[run_id].pgid
        assert pgid is not None and group_members(pgid)

        # Kill asks first; "n" leaves it running, "y" kills the whole group.
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the kill question")
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dialog to go")
        assert app.records[run_id].is_live
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the kill question")
        await pilot.press("y")
        await until(pilot, lambda: any(f"killed {run_id}" in n for n in notices(app)), "kill")
        await until(pilot, lambda: not group_members(pgid), "the process group to be gone")
        await until(pilot, lambda: app.records[run_id].status is RunStatus.STOPPED, "stopped")
        assert app.live_runs() == []


async def test_invalid_config_is_not_launched(ui_project: Path) -> None:
    config = ui_project / "configs" / "digits.yaml"
    config.write_text(config.read_text().replace("_target_: adamw", "_target_: adamx"))
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.problems, "the problem found on open")
        line = next(i for i, t in enumerate(config.read_text().splitlines(), 1) if "adamx" in t)
        assert app.editor.problems[0][0] == line
        await pilot.press("ctrl+r")
        await until(pilot, lambda: any("not launched" in n for n in notices(app)), "refusal")
        assert any("adamx" in n for n in notices(app))
        assert not (ui_project / "runs").exists() or not list((ui_project / "runs").iterdir())
        assert app.current_pane == "editor"


async def test_quit_with_live_run_says_it_keeps_running(ui_project: Path) -> None:
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config")
        run_id = await launch_with(pilot, app, "trainer.max_epochs=40 model.hidden=[16]")
        await until(pilot, lambda: app.records.get(run_id), "the run listed")
        await pilot.press("q")
        await until(pilot, lambda: app._exit, "the app to exit")
    assert [r.id for r in app.live_runs()] == [run_id]


async def test_a_launch_of_what_the_editor_just_checked_skips_the_second_check(
    ui_project: Path, monkeypatch
) -> None:
    # The editor's background check already ran `recipe check` (2 s: custom.py imports
    # torch) on these exact files; ctrl+r launches without running it again, and checks
    # again once custom.py changed on disk.
    from autotrain_tui.core import launcher

    config = ui_project / "configs" / "digits.yaml"
    config.write_text(config.read_text().replace("max_epochs: 20", "max_epochs: 1"))
    checked: list[Path] = []
    check_config = launcher.check_config

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        checked.append(Path(args[3]))
        return check_config(*args, **kwargs)

    monkeypatch.setattr(launcher, "check_config", counting)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.full_check == "ok", "the background check")
        assert checked == [config]
        await pilot.press("ctrl+r")
        first = await until(pilot, lambda: app.dashboard.record, "the launch")
        assert checked == [config]  # no second check

        custom = ui_project / "custom.py"
        custom.write_text(custom.read_text() + "\n# changed since the check\n")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.dashboard.record.id != first.id, "the second launch")
        # Checked again: by the editor, which re-checks when custom.py changes on disk, and
        # by the launch unless that re-check had passed on these very bytes already.
        assert checked[1:] and set(checked) == {config}, checked
