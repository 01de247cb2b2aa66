"""Pilot tests of the editor: inline problems at the right line, jump to the next, save
exactly as typed, the unsaved-changes question, recovery copies, and outside changes."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from autotrain_tui.ui.app import AutotrainApp, make_app
from autotrain_tui.ui.editing import recovery_path
from autotrain_tui.ui.screens.choice import ChoiceScreen
from autotrain_tui.ui.screens.confirm import ConfirmScreen
from autotrain_tui.ui.screens.help import HelpScreen
from tests.ui.fixtures import FixedSampler, write_run
from tests.ui.test_ui_runs import SIZE, until


def app_for(root: Path):  # type: ignore[no-untyped-def]
    return make_app(root, sampler=FixedSampler(gpus=False), poll_s=0.5)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


async def test_typing_an_error_marks_its_line_then_fix_and_save(ui_project: Path) -> None:
    config = ui_project / "configs" / "digits.yaml"
    original = config.read_text()
    app = app_for(ui_project)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        editor = app.editor
        await until(pilot, lambda: editor.full_check == "ok", "the full check of the default")
        area = editor.text_area
        area.focus()  # the sidebar has focus at start
        row = line_of(original, "_target_: mlp") - 1
        col = area.document.get_line(row).index("mlp")
        area.move_cursor((row, col + 3))
        await pilot.press("x")  # mlp -> mlpx, as a user types it
        await until(pilot, lambda: editor.problems, "the quick check to find the typo")
        assert editor.problems[0][0] == row + 1
        assert "unknown model 'mlpx'" in editor.problems[0][2]
        assert area.problem_lines == {row + 1}
        assert recovery_path(config).read_text() == editor.text  # kept while unsaved
        area.move_cursor((0, 0))
        await pilot.press("f8")
        assert area.cursor_location == (row, col)  # at the problem's column
        area.move_cursor((row, col + 4))
        await pilot.press("backspace")  # fixed
        await until(pilot, lambda: editor.full_check == "ok" and not editor.problems, "clean")
        area.move_cursor((0, 0))
        area.insert("# my note, kept as typed\n")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not editor.is_dirty, "the save")
    assert config.read_text() == "# my note, kept as typed\n" + original
    assert not recovery_path(config).exists()


async def test_switching_with_unsaved_changes_asks(ui_project: Path) -> None:
    config = ui_project / "configs" / "digits.yaml"
    app = app_for(ui_project)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path == config, "the default config")
        app.editor.text_area.insert("# unsaved\n")
        app.open_file(ui_project / "configs" / "digits_cnn.yaml")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the question")
        await pilot.press("escape")  # cancel: stay, keep the edit
        await until(pilot, lambda: not isinstance(app.screen, ChoiceScreen), "the dialog gone")
        assert app.editor.path == config and app.editor.is_dirty
        app.open_file(ui_project / "configs" / "digits_cnn.yaml")
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the question")
        await click_when_shown(pilot, app, "#choice-save")
        await until(pilot, lambda: app.editor.path.name == "digits_cnn.yaml", "the switch")
    assert config.read_text().startswith("# unsaved\n")


async def click_when_shown(pilot: Pilot[object], app: AutotrainApp, selector: str) -> None:
    """Click a dialog button once it is laid out (on a loaded machine that takes a while)."""
    await until(
        pilot,
        lambda: bool(app.screen.query(selector)) and app.screen.query_one(selector).region.width,
        f"{selector} on screen",
    )
    await pilot.pause()
    await pilot.click(selector)


async def test_recovery_copy_is_offered_on_next_start(ui_project: Path) -> None:
    config = ui_project / "configs" / "digits.yaml"
    recovery_path(config).write_text("# edits that survived a crash\n" + config.read_text())
    app = app_for(ui_project)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the recovery offer")
        assert "recovery copy" in app.screen.question
        await click_when_shown(pilot, app, "#choice-restore")
        await until(pilot, lambda: app.editor.path == config, "the file open")
        assert app.editor.text.startswith("# edits that survived a crash")
        assert app.editor.is_dirty
    assert not config.read_text().startswith("# edits")  # nothing saved behind the user


async def test_file_changed_on_disk_is_offered_for_reload(ui_project: Path) -> None:
    config = ui_project / "configs" / "digits.yaml"
    app = app_for(ui_project)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path == config, "the default config")
        config.write_text("# changed by someone else\n" + config.read_text())
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the reload offer")
        assert "changed on disk" in app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: app.editor.text.startswith("# changed by"), "the reload")
        assert not app.editor.is_dirty


async def test_python_file_gets_syntax_problems(ui_project: Path) -> None:
    app = app_for(ui_project)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config")
        app.open_file(ui_project / "custom.py")
        await until(pilot, lambda: app.editor.path.name == "custom.py", "custom.py open")
        assert app.editor.text_area.language == "python"
        app.editor.text_area.move_cursor((0, 0))
        app.editor.text_area.insert("def broken(:\n")
        await until(pilot, lambda: app.editor.problems, "the syntax error")
        assert app.editor.problems[0][0] == 1


async def test_keys_typed_before_the_editor_loads_act_and_never_land_in_the_filter(
    ui_project: Path,
) -> None:
    # open_default=False: the moment before the default config reaches the editor, held.
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.5, open_default=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        assert app.query_one("#filter", Input).value == ""
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "q to quit")


async def test_the_default_config_loading_late_never_takes_an_opened_run_away(
    ui_project: Path,
) -> None:
    # The race, held still: the user opens a run before the start-up open of the default
    # config has read the file (open_default=False, then that open started by hand).
    run_id = "digits-20251125-094640-aaaa"
    write_run(ui_project, run_id, "completed")
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.5, open_default=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: run_id in app.records, "the run listed")
        app.show_run(app.records[run_id])
        await pilot.pause()
        app.open_default_config()
        await until(pilot, lambda: app.editor.path is not None, "the default config loaded")
        opening = [w for w in app.workers if w.name == "open file"]
        await until(pilot, lambda: all(w.is_finished for w in opening), "the open to end")
        await pilot.pause()
        assert app.editor.path == ui_project / "configs" / "digits.yaml"
        assert app.current_pane == "dashboard"  # the run stays on screen ...
        assert app.focused is app.dashboard.log_panel  # ... and keys still go to its log
        # Untouched, the same open shows the editor and leaves focus in the sidebar, where
        # single keys act (test_ui_focus.py); one key still launches the default config.
    fresh = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.5)
    async with fresh.run_test(size=SIZE) as pilot:
        await fresh.panes_mounted()
        await until(pilot, lambda: fresh.editor.path is not None, "the default config loaded")
        await pilot.pause()
        assert fresh.current_pane == "editor"
        assert fresh.focused is not None and fresh.focused.id == "configs"


async def test_a_custom_py_fixed_on_disk_clears_the_open_configs_error(ui_project: Path) -> None:
    """The open config's full check imports custom.py: when custom.py changes on disk (fixed
    in another editor), the config is checked again, with no edit to the config."""
    custom = ui_project / "custom.py"
    good = custom.read_text()
    custom.write_text(good + '\nraise RuntimeError("custom.py is broken")\n')
    config = ui_project / "configs" / "custom_example.yaml"
    app = app_for(ui_project)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config")
        app.open_file(config)
        editor = app.editor
        await until(pilot, lambda: editor.path == config, "custom_example.yaml open")
        await until(pilot, lambda: editor.full_check == "failed", "the full check to fail")
        assert any("custom.py is broken" in message for _, _, message in editor.problems)
        custom.write_text(good)  # fixed elsewhere
        await until(pilot, lambda: editor.full_check == "ok", "a re-check with the fixed file")
        assert not editor.problems
        assert not editor.is_dirty
