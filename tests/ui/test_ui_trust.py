"""Trust in the UI (issue #11): opening an untrusted project imports none of its code — the
editor runs only the quick check and says so, launching asks first — and trusting it from
the prompt lets the full check run. The proof is a custom.py that leaves a marker file
whenever anything imports it."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Label

from autotrain_tui.core import trust
from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.flows.trusting import code_that_would_run
from autotrain_tui.ui.screens.trust import TrustScreen
from tests.ui.fixtures import FixedSampler
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import notices, until


def untrusted_with_marker(root: Path) -> Path:
    """Untrust `root` and make its custom.py write a marker when imported."""
    trust.untrust_project(root)
    marker = root.parent / "custom-imported"
    custom = root / "custom.py"
    custom.write_text(
        custom.read_text() + f"\nimport pathlib\npathlib.Path({str(marker)!r}).touch()\n"
    )
    return marker


async def test_an_untrusted_project_runs_none_of_its_code_until_trusted(
    ui_project: Path,
) -> None:
    marker = untrusted_with_marker(ui_project)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.panes_mounted()
        editor = app.editor
        await until(pilot, lambda: editor.full_check == "untrusted", "the quick check only")
        status = str(editor.query_one("#editor-status", Label).render())
        assert "untrusted project: quick check only — T to trust" in status, status
        assert any("untrusted project" in n for n in notices(app)), notices(app)
        await pilot.pause(2.0)  # polls, timers: still nothing may import custom.py
        assert not marker.exists(), "custom.py was imported in an untrusted project"

        await pilot.press("ctrl+r")  # launching asks first ...
        await until(pilot, lambda: isinstance(app.screen, TrustScreen), "the trust prompt")
        prompt = app.screen
        assert isinstance(prompt, TrustScreen)
        assert f"Trust {ui_project}?" in prompt.question
        assert "• custom.py" in prompt.question, prompt.question
        shown = screen_text(app)
        assert "Trust (y)" in shown and "Not now (n)" in shown, shown
        await pilot.press("enter")  # ... and an enter typed by habit trusts nothing
        await until(pilot, lambda: not isinstance(app.screen, TrustScreen), "prompt closed")
        await until(pilot, lambda: any("not launching" in n for n in notices(app)), "said")
        assert not (ui_project / "runs").exists() or not any((ui_project / "runs").iterdir())
        assert not trust.is_trusted(ui_project)
        assert not marker.exists()

        await pilot.press("T")  # trusting from the prompt starts the full check
        await until(pilot, lambda: isinstance(app.screen, TrustScreen), "the trust prompt")
        await pilot.press("y")
        await until(pilot, lambda: editor.full_check == "ok", "the full check, trusted")
        assert trust.is_trusted(ui_project)
        assert marker.exists(), "the full check imports custom.py once trusted"


def test_the_prompt_names_custom_py_and_the_modules_configs_name(tmp_path: Path) -> None:
    (tmp_path / "custom.py").write_text("x = 1\n")
    config = tmp_path / "a.yaml"
    config.write_text(
        "model:\n  _target_: mypkg.models.Net\n  layers:\n    - _target_: torch.nn.Linear\n"
        "data:\n  _target_: digits\n"
    )
    custom, modules = code_that_would_run(tmp_path / "custom.py", [config])
    assert custom == tmp_path / "custom.py"
    assert modules == ["mypkg.models", "torch.nn"]
