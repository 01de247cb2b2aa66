"""Pilot: the dashboard's media panel over a run's real `media/` (PNGs and index lines
written as the recipe does: tests/media_files.py). The newest image is shown with its
caption and "n/m"; `[` / `]` step through the images, `i` hides the panel; a new index
line brings the new image; a deleted file is skipped, a corrupt PNG gets a dim note; a run
without media shows no panel. And a snapshot at 120x40."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from autotrain_tui.ui.app import AutotrainApp, make_app
from autotrain_tui.ui.media_render import PROTOCOL_ENV, image_protocol
from autotrain_tui.ui.widgets import media_panel
from autotrain_tui.ui.widgets.media_panel import HalfBlockImage
from tests.media_files import add_media, append_index, media_name
from tests.ui.fixtures import NOW, T0, FixedSampler, write_run
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_snapshots import until

RED, GREEN, BLUE, YELLOW = (200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0)
SIZE = (120, 40)


def media_run(root: Path, run_id: str = "digits-20251125-094640-aaaa") -> Path:
    run = write_run(root, run_id, "completed", started_at=T0)
    add_media(run, 20, RED, epoch=1, caption="3 of 4 right")
    add_media(run, 40, GREEN, epoch=3, kind="confusion", caption="confusion matrix")
    add_media(run, 60, BLUE, epoch=5, caption="4 of 4 right")
    return run


def drawn_colour(app: AutotrainApp) -> tuple[int, int, int] | None:
    """The colour of the image's top-right cell (the band runs from the top-left corner)."""
    blocks = app.dashboard.media.query_one(HalfBlockImage).blocks
    if blocks is None:
        return None
    style = list(blocks.lines[0])[-1].style
    assert style is not None and style.color is not None
    rgb = style.color.get_truecolor()
    return (rgb.red, rgb.green, rgb.blue)


def title(app: AutotrainApp) -> str:
    return str(app.dashboard.media.query_one("#media-title").render())


async def open_run(pilot: Pilot[object], app: AutotrainApp, run_id: str) -> None:
    await app.panes_mounted()
    await until(pilot, lambda: run_id in app.records, "the run listed")
    app.show_run(app.records[run_id])
    await until(pilot, lambda: app.dashboard.history is not None, "the dashboard")


async def test_panel_shows_newest_steps_and_follows_new_media(
    ui_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = media_run(ui_project)
    app = make_app(ui_project, sampler=FixedSampler(), clock=lambda: NOW, open_default=False)
    # The throttle first: a new image within REPAINT_S of the last change waits.
    monkeypatch.setattr(media_panel, "REPAINT_S", 3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await open_run(pilot, app, run.name)
        media = app.dashboard.media
        await until(pilot, lambda: drawn_colour(app) == BLUE, "the newest image drawn")
        assert media.display
        assert "predictions · step 60 · epoch 5 · 3/3 (newest)" in title(app)
        assert "4 of 4 right" in screen_text(app)

        add_media(run, 80, YELLOW, epoch=7, caption="newest")
        await until(pilot, lambda: "3/4" in title(app), "the new image counted")
        assert drawn_colour(app) == BLUE and "step 60" in title(app)  # not redrawn yet

        await pilot.press("left_square_bracket")
        await until(pilot, lambda: drawn_colour(app) == GREEN, "the older image")
        assert "confusion · step 40 · epoch 3 · 2/4" in title(app)
        assert "confusion matrix" in screen_text(app)
        for _ in range(3):  # stops at the oldest
            await pilot.press("left_square_bracket")
        await until(pilot, lambda: drawn_colour(app) == RED, "the oldest image")
        assert "1/4" in title(app) and "3 of 4 right" in title(app)
        for _ in range(4):  # ] past the newest follows it again
            await pilot.press("right_square_bracket")
        await until(pilot, lambda: drawn_colour(app) == YELLOW, "the newest image")
        assert "4/4 (newest)" in title(app)

        # Following the newest, unthrottled: a new index line brings its image; a line
        # whose file is gone (retention) is skipped.
        monkeypatch.setattr(media_panel, "REPAINT_S", 0.0)
        add_media(run, 100, GREEN, epoch=9, caption="after retention")
        (run / "media" / media_name("predictions", 20, 0)).unlink()
        await until(pilot, lambda: "step 100" in title(app), "the new newest image")
        await until(pilot, lambda: drawn_colour(app) == GREEN, "it drawn")
        assert "4/4 (newest)" in title(app)  # 20 gone: 40, 60, 80, 100

        await pilot.press("i")
        assert not media.display
        await pilot.press("i")
        assert media.display

        # Another run with the same file names: its own image, not the cached one.
        other = write_run(ui_project, "digits-20251125-095000-bbbb", "completed")
        add_media(other, 100, RED, epoch=9, caption="after retention")  # the same size too
        await open_run(pilot, app, other.name)
        await until(pilot, lambda: drawn_colour(app) == RED, "the other run's image")
        assert "1/1 (newest)" in title(app)


async def test_corrupt_png_gets_a_note_and_no_media_no_panel(ui_project: Path) -> None:
    run = media_run(ui_project)
    bare = write_run(ui_project, "digits-20251125-095000-bbbb", "completed", started_at=T0 + 200)
    app = make_app(ui_project, sampler=FixedSampler(), clock=lambda: NOW, open_default=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_run(pilot, app, bare.name)
        await pilot.pause(1.0)  # a few tail polls: nothing to list
        assert not app.dashboard.media.display
        assert "(newest)" not in screen_text(app)

        # Half a PNG renamed into place (what the contract forbids, but a copy can do).
        half = media_name("predictions", 120, 0)
        add_media(run, 120, YELLOW, epoch=9)
        data = (run / "media" / half).read_bytes()
        (run / "media" / half).write_bytes(data[: len(data) // 2])
        await open_run(pilot, app, run.name)
        media = app.dashboard.media
        await until(pilot, lambda: media.note, "the note")
        assert media.note.startswith(f"skipped: {half} cannot be read")
        assert "skipped:" in screen_text(app)
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: drawn_colour(app) == BLUE, "the image before it")
        assert media.note == ""
        append_index(run, "garbage line\n")
        await pilot.pause(0.6)
        assert "3/4" in title(app)


def test_media_panel_snapshot(snap_compare, ui_project: Path) -> None:
    run = media_run(ui_project)
    app = make_app(
        ui_project,
        sampler=FixedSampler(),
        clock=lambda: NOW,
        poll_s=0.2,
        sample_s=3600,
        open_default=False,
    )

    async def settle(pilot: Pilot[object]) -> None:
        await open_run(pilot, app, run.name)
        await until(
            pilot,
            lambda: (
                drawn_colour(app) == BLUE
                and app.dashboard.log_panel.line_count == 30
                and len(app.dashboard.history.series.get("train/loss", ())) == 40
            ),
            "the image, metrics and log",
        )
        await until(pilot, lambda: app.dashboard.query_one("#system").snapshot, "a sample")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_image_protocol_from_the_environment() -> None:
    """Pixels only where the terminal says it draws them (or the user asks); half blocks
    elsewhere, inside tmux (which passes no graphics through by default) and on request."""
    assert image_protocol({}) == "halfblock"
    assert image_protocol({"TERM": "xterm-256color"}) == "halfblock"
    assert image_protocol({"TERM": "xterm-kitty"}) == "kitty"
    assert image_protocol({"TERM": "foot"}) == "sixel"
    assert image_protocol({"TERM_PROGRAM": "WezTerm"}) == "sixel"
    assert image_protocol({"TERM": "xterm-kitty", "TMUX": "/tmp/t,1,0"}) == "halfblock"
    assert image_protocol({"TERM": "xterm-kitty", "SSH_CONNECTION": "a 1 b 22"}) == "halfblock"
    assert image_protocol({"TERM": "foot", "SSH_TTY": "/dev/pts/1", PROTOCOL_ENV: "sixel"}) == (
        "sixel"
    )
    assert image_protocol({"TERM": "xterm-kitty", PROTOCOL_ENV: "halfblock"}) == "halfblock"
    assert image_protocol({PROTOCOL_ENV: "Sixel"}) == "sixel"
    assert image_protocol({PROTOCOL_ENV: "bogus", "TERM": "foot"}) == "sixel"
