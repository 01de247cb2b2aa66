"""Debugging from the UI (issue #11): on a failed run's dashboard, `y` copies the command
that reproduces it (through the terminal: OSC 52) and `g` opens the custom.py line its
traceback passed through. A real run fails in a custom data function; the copied command,
run in a shell, fails the same way."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from autotrain_tui.core.runs import RunStatus, read_run
from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.debugging import last_traceback_location, project_file_for
from tests.ui.fixtures import FixedSampler
from tests.ui.test_ui_runs import SIZE, until

BROKEN = """

@register("broken_digits")
def broken_digits(val_fraction: float = 0.2, seed: int = 0) -> DataBundle:
    raise ValueError("broken on purpose")
"""


def broken_project(root: Path) -> tuple[Path, int]:
    """custom.py with a data function that raises; a config that uses it. Returns the
    config and the line of the raise."""
    custom = root / "custom.py"
    custom.write_text(custom.read_text() + BROKEN)
    line = custom.read_text().splitlines().index('    raise ValueError("broken on purpose")') + 1
    config = root / "configs" / "broken.yaml"
    digits = (root / "configs" / "digits.yaml").read_text()
    config.write_text(
        digits.replace("_target_: digits ", "_target_: broken_digits ").replace(
            "max_epochs: 20", "max_epochs: 1"
        )
    )
    assert "broken_digits" in config.read_text()
    return config, line


async def test_copy_the_command_and_go_to_the_error_of_a_failed_run(ui_project: Path) -> None:
    config, line = broken_project(ui_project)
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config")
        app.open_file(config)
        await until(pilot, lambda: app.editor.path == config, "broken.yaml open")
        await until(pilot, lambda: app.editor.full_check == "ok", "its check")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.dashboard.record is not None, "the run shown")
        run_id = app.dashboard.record.id
        await until(
            pilot,
            lambda: app.records.get(run_id) and app.records[run_id].status is RunStatus.FAILED,
            "the run to fail",
        )
        await pilot.press("y")
        command = app.clipboard
        assert command.startswith(f"cd {ui_project.resolve()} && "), command
        assert f"runs/{run_id}/config.yaml" in command and "--run-dir" not in command

        await pilot.press("g")
        await until(pilot, lambda: app.editor.path == ui_project / "custom.py", "custom.py")
        await until(pilot, lambda: app.editor.text_area.cursor_location == (line - 1, 0), "line")
        assert app.focused is app.editor.text_area

    original = (ui_project / "runs" / run_id / "stdout.log").read_bytes()
    again = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=240)
    assert again.returncode != 0
    assert "broken on purpose" in again.stdout + again.stderr
    # Into a run directory of its own: the failed run's files are as they were.
    assert (ui_project / "runs" / run_id / "stdout.log").read_bytes() == original
    assert read_run(ui_project / "runs" / run_id).status is RunStatus.FAILED


def test_the_last_traceback_through_the_users_files_wins(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    log.write_text(
        "Traceback (most recent call last):\n"
        f'  File "{tmp_path}/custom.py", line 3, in old\n'
        "ValueError: an earlier one\n"
        "epoch 1 ...\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3/site-packages/recipe/train.py", line 40, in main\n'
        '  File "configs/a.yaml", line 7, in <config>\n'
        f'  File "{tmp_path}/custom.py", line 12, in build\n'
        '  File "/usr/lib/python3/site-packages/torch/nn/modules/module.py", line 9, in f\n'
        "RuntimeError: the last one\n"
    )
    assert last_traceback_location(log, tmp_path) == (tmp_path / "custom.py", 12)
    log.write_text("no traceback here\n")
    assert last_traceback_location(log, tmp_path) is None


def test_a_frame_in_the_runs_copy_of_custom_py_opens_the_projects_file(tmp_path: Path) -> None:
    """A run imports its own copy of custom.py, so its tracebacks name runs/<id>/custom.py;
    `g` opens the project's file that copy came from, saying when it has changed since."""
    project = tmp_path / "project"
    run_dir = project / "runs" / "r1"
    run_dir.mkdir(parents=True)
    (project / "custom.py").write_text("x = 1\n")
    (run_dir / "custom.py").write_text("x = 1\n")
    (run_dir / "code.json").write_text(
        json.dumps({"project_dir": str(project), "custom": "custom.py"})
    )
    assert project_file_for(run_dir / "custom.py", run_dir) == (project / "custom.py", False)
    (project / "custom.py").write_text("# edited since\nx = 1\n")
    assert project_file_for(run_dir / "custom.py", run_dir) == (project / "custom.py", True)
    # A frame elsewhere is left as it is; a run without code.json keeps its copy.
    config = project / "configs" / "a.yaml"
    assert project_file_for(config, run_dir) == (config, False)
    (run_dir / "code.json").unlink()
    assert project_file_for(run_dir / "custom.py", run_dir) == (run_dir / "custom.py", False)
