"""The UI never dies of what it finds in a project, and says so when it does die (issue #11):
a copied run directory (two run.json with one id) is listed and named, not fatal; an
unhandled exception ends the UI with a non-zero exit status; a queue that cannot advance
(a read-only project) is said once, not every poll."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from autotrain_tui.ui.app import exit_status, make_app
from autotrain_tui.ui.flows.polling import queue_problem
from autotrain_tui.ui.messages import QueueStepped
from tests.ui.fixtures import FixedSampler, write_run
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import SIZE, notices, until

ORIGINAL = "digits-20251125-094640-aaaa"


async def test_a_copied_run_directory_is_listed_named_and_acted_on_by_its_directory(
    ui_project: Path,
) -> None:
    original = write_run(ui_project, ORIGINAL, "completed")
    copy = original.parent / "digits-copy"
    shutil.copytree(original, copy)
    (copy / "stdout.log").write_text("the copy's own log line\n")
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.sidebar.records) == 2, "both runs listed")
        await pilot.pause()
        screen = screen_text(app)
        assert ORIGINAL in screen and "digits-copy" in screen, screen
        assert f"⚠ copy of …{ORIGINAL[-15:]}" in screen, screen
        named = [n for n in notices(app) if "runs/digits-copy" in n]
        assert len(named) == 1 and ORIGINAL in named[0], notices(app)
        await pilot.pause(1.0)  # more polls: named once, not once a poll
        assert len([n for n in notices(app) if "runs/digits-copy" in n]) == 1
        app.show_run(app.records["digits-copy"])
        await until(
            pilot, lambda: "the copy's own log line" in screen_text(app), "the copy's own log"
        )
        assert app.dashboard.record is not None
        assert app.dashboard.record.run_dir == copy
    assert exit_status(app) == 0


async def test_an_unhandled_exception_ends_the_ui_with_a_non_zero_status(
    ui_project: Path,
) -> None:
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)

    def crash() -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        async with app.run_test(size=SIZE) as pilot:
            await app.panes_mounted()
            app.call_later(crash)
            await until(pilot, lambda: app.return_code is not None, "the app to end")
    assert app.return_value is None  # what the entry point used to turn into status 0
    assert exit_status(app) == 1


async def test_a_queue_that_cannot_advance_is_said_once_not_every_poll(ui_project: Path) -> None:
    """The poll's queue step fails every time (here `runs/.queue.lock` cannot be opened,
    which holds for root too, unlike permissions): one notification, not one a poll."""
    write_run(ui_project, ORIGINAL, "completed")
    (ui_project / "runs" / ".queue.lock").mkdir()
    steps: list[QueueStepped] = []

    def hook(message: object) -> None:
        if isinstance(message, QueueStepped):
            steps.append(message)

    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.05)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(steps) >= 4, "four queue steps")
        await pilot.pause()
        said = [n for n in notices(app) if ".queue.lock" in n]
        assert len(said) == 1, notices(app)
        assert said[0].startswith("the queue cannot start runs:"), said
        assert not [n for n in notices(app) if n.startswith("runs poller")], notices(app)
        assert ORIGINAL in app.records  # the runs are listed all the same


def test_a_project_the_user_cannot_write_is_called_read_only(tmp_path: Path) -> None:
    for code in (errno.EACCES, errno.EROFS):
        error = OSError(code, os.strerror(code), str(tmp_path / "runs" / ".queue.lock"))
        said = queue_problem(error, tmp_path / "runs")
        assert said.startswith("this project is read-only for you"), said
        assert str(tmp_path / "runs") in said


async def test_names_with_brackets_are_shown_as_text_not_markup(ui_project: Path) -> None:
    """A config named like markup (`x[b].yaml`) in the sidebar, a notification and a dialog:
    read as markup, the name lost its brackets (`[b]` turned bold) — and `[@click=…]` in a
    name would have made a click run an action."""
    config = ui_project / "configs" / "x[b].yaml"
    config.write_text((ui_project / "configs" / "digits.yaml").read_text())
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config")
        await until(pilot, lambda: "x[b].yaml" in screen_text(app), "the name in the sidebar")
        app.open_file(config)
        await until(pilot, lambda: app.editor.path == config, "the file open")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "saved configs/x[b].yaml" in notices(app), "saved")
        assert not any(n.markup for n in app._notifications)  # shown as the text it is
        config.write_text(config.read_text() + "# changed elsewhere\n")
        await until(pilot, lambda: "x[b].yaml changed on disk" in screen_text(app), "prompt")
