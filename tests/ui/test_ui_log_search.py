"""The log panel: search with highlights and n/N, and a full panel that keeps showing the
newest lines under a flood (Textual's Log alone freezes once it holds `max_lines`)."""

from __future__ import annotations

from pathlib import Path

from rich.style import Style
from textual.app import App, ComposeResult

from autotrain_tui.ui.app import AutotrainApp, make_app
from autotrain_tui.ui.widgets.log_panel import MAX_LINES, LogPanel
from tests.ui.fixtures import NOW, FixedSampler, write_run
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import until

SIZE = (100, 32)
RUN = "digits-20251125-094640-aaaa"


def log_rows(app: App[object]) -> list[str]:
    """The log panel's rows as shown on screen (trailing blank rows dropped)."""
    log = app.query_one(LogPanel)
    region = log.content_region
    rows = screen_text(app).splitlines()[region.y : region.y + region.height]
    shown = [row[region.x : region.x + region.width].rstrip() for row in rows]
    while shown and not shown[-1]:
        shown.pop()
    return shown


async def dashboard_of_run(pilot, app: AutotrainApp) -> LogPanel:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: RUN in app.records, "the run listed")
    app.show_run(app.records[RUN])
    log = app.dashboard.log_panel
    await until(pilot, lambda: log.line_count == 200, "the log read")
    await pilot.pause(0.1)
    return log


async def test_search_highlights_jumps_and_walks_matches(ui_project: Path) -> None:
    write_run(ui_project, RUN, "completed", log_lines=200)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        log = await dashboard_of_run(pilot, app)
        assert "step 995:" in log_rows(app)[-1]  # following the end
        assert not any("epoch 3 step" in row for row in log_rows(app))

        await pilot.press("slash")
        bar = app.dashboard.search_bar
        await until(pilot, lambda: bar.display and bar.input.has_focus, "the search bar")
        await pilot.press(*"epoch 3 step")  # lines 9, 10, 11: steps 45, 50, 55
        await until(pilot, lambda: "3/3" in screen_text(app), "the match count")
        assert any("epoch 3 step 55:" in row for row in log_rows(app)), log_rows(app)
        assert not log.following  # jumping pauses the tail
        # The match is highlighted: its cells carry the match style.
        y = log.lines.index(next(line for line in log.lines if "epoch 3 step 55:" in line))
        strip = log._render_line_strip(y, Style())
        marked = "".join(s.text for s in strip if s.style and s.style.bgcolor)
        assert marked == "epoch 3 step", marked

        await pilot.press("enter")  # the next, older match
        await until(pilot, lambda: "2/3" in screen_text(app), "the next match")
        await pilot.press("escape")  # back to the log, the search kept
        await until(pilot, lambda: log.has_focus and not bar.display, "the log focused")
        await pilot.press("n")
        assert log.match_position() == (1, 3)
        await pilot.press("n")  # wraps to the newest
        assert log.match_position() == (3, 3)
        await pilot.press("N")  # newer than the newest: wraps to the oldest
        assert log.match_position() == (1, 3)

        await pilot.press("escape")  # ends the search: no highlight, following again
        await pilot.pause(0.1)
        assert log.search_query == "" and not log.highlight and log.following
        assert "step 995:" in log_rows(app)[-1]


async def test_n_clones_the_run_config_when_no_search_is_active(ui_project: Path) -> None:
    write_run(ui_project, RUN, "completed", log_lines=200)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        log = await dashboard_of_run(pilot, app)
        assert log.has_focus
        await pilot.press("n")
        await until(pilot, lambda: "Copy the config" in screen_text(app), "the clone prompt")


async def test_search_without_a_match_says_so(ui_project: Path) -> None:
    write_run(ui_project, RUN, "completed", log_lines=200)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        log = await dashboard_of_run(pilot, app)
        await pilot.press("ctrl+f")
        await pilot.press(*"no such text")
        await until(pilot, lambda: "no match" in screen_text(app), "'no match'")
        assert log.current_match is None


class LogOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield LogPanel(id="log")


async def test_a_full_log_keeps_showing_the_newest_lines() -> None:
    app = LogOnly()
    async with app.run_test(size=(60, 10)) as pilot:
        log = app.query_one(LogPanel)
        written = 0
        for _ in range(3):  # past max_lines: old lines go, the view must move on
            log.add_lines([f"line {written + i}" for i in range(MAX_LINES // 2 + 7)])
            written += MAX_LINES // 2 + 7
            await pilot.pause()
        assert log.line_count == MAX_LINES
        assert log_rows(app)[-1] == f"line {written - 1}"
        log.add_lines(["the newest line"])
        await pilot.pause()
        assert log_rows(app)[-1] == "the newest line"
        assert log.dropped == written + 1 - MAX_LINES


async def test_a_flood_skips_to_its_newest_lines_and_a_burst_after_it_arrives_whole(
    ui_project: Path,
) -> None:
    """The log view never falls behind a run that prints faster than anyone can read: it
    jumps to the newest lines and says how many it skipped (they stay in stdout.log). A
    burst after the flood (a traceback, say) is not cut short."""
    run_dir = write_run(ui_project, RUN, "running", ended=False, alive_pid=True, log_lines=200)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        log = await dashboard_of_run(pilot, app)
        with (run_dir / "stdout.log").open("a") as handle:
            for second in range(3):  # three polls' worth of 10,000 lines each
                handle.write("".join(f"flood {second} line {i}\n" for i in range(10_000)))
                handle.flush()
                await pilot.pause(0.3)
        await until(pilot, lambda: log_rows(app)[-1] == "flood 2 line 9999", "the newest line")
        assert log.skipped > 25_000, log.skipped  # most of the flood, left on disk
        assert log.line_count < 2_000, log.line_count  # a few polls of 100 lines, not 30,000
        markers = [line for line in log.lines if "lines skipped to keep up" in line]
        assert markers and all(line.endswith("(all in stdout.log) …") for line in markers)

        await pilot.pause(1.0)  # the flood is over: a few quiet polls
        skipped = log.skipped
        traceback = [f"traceback line {i}" for i in range(90)]
        with (run_dir / "stdout.log").open("a") as handle:
            handle.write("".join(line + "\n" for line in traceback))
        await until(pilot, lambda: log_rows(app)[-1] == "traceback line 89", "the burst")
        assert log.skipped == skipped  # nothing of the burst was skipped
        assert list(log.lines)[-90:] == traceback
