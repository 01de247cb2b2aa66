"""A newcomer's first keys (issue #11): the first `?` or `q` acts instead of being typed
into the config; in the editor F1 and ctrl+q still work, the footer says so, and escape
leaves the editor for the sidebar."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.screens.help import HelpScreen
from tests.ui.fixtures import FixedSampler
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import SIZE, until


def footer(app) -> str:  # type: ignore[no-untyped-def]
    return screen_text(app).rstrip("\n").splitlines()[-1]


async def test_first_keys_act_and_the_editor_shows_its_way_out(ui_project: Path) -> None:
    config = ui_project / "configs" / "digits.yaml"
    original = config.read_text()
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path == config, "the default config")
        await until(pilot, lambda: app.editor.full_check == "ok", "its check")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help on the first ?")
        assert app.editor.text == original, "the ? was typed into the config"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        shown = footer(app)
        assert "q Quit" in shown and "? Help" in shown, shown
        configs = app.query_one("#configs", OptionList)
        assert configs.highlighted is not None
        assert configs.get_option_at_index(configs.highlighted).id == str(config)  # enter: it

        await pilot.press("e")  # into the editor: single keys type there
        await until(pilot, lambda: app.focused is app.editor.text_area, "the editor focused")
        await pilot.pause()
        shown = footer(app)
        for key in ("^q Quit", "F1 Help", "esc Sidebar"):
            assert key in shown, f"{key!r} not in the footer: {shown!r}"
        assert " q Quit" not in shown and "? Help" not in shown, shown
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help on F1")
        await pilot.press("escape")
        await until(pilot, lambda: app.focused is app.editor.text_area, "back in the editor")
        await pilot.press("escape")
        await until(pilot, lambda: app.focused is not None and app.focused.id == "configs", "out")
        await pilot.press("e")
        await until(pilot, lambda: app.focused is app.editor.text_area, "the editor again")
        await pilot.press("ctrl+q")
        await until(pilot, lambda: app._exit, "ctrl+q to quit from the editor")
    assert app.return_value == 0
    assert config.read_text() == original
