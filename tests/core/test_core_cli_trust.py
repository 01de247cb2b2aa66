"""Trust on the command line and in `Project`: no project code runs until the user says so.

The gate is in `Project` (check, launch, sweep, resume), so the UI gets it too; the CLI adds
`--trust` and `autotrain-tui trust`. A `project.custom` outside the project needs a trust of
its own, for the file's present content.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autotrain_tui.cli import main
from autotrain_tui.core import Project, trust
from autotrain_tui.core.trust import UntrustedFileError, UntrustedProjectError
from tests.core.support import STANDIN_CONFIG, make_root, standin_project
from tests.helpers import make_project

MARKER_CODE = "\nimport pathlib as _p\n_p.Path({marker!r}).write_text('custom.py ran')\n"


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autotrain_tui.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _stopped_run(root: Path, name: str) -> None:
    run_dir = root / "runs" / name
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").write_text("x")
    (run_dir / "config.yaml").write_text((root / "configs" / "digits.yaml").read_text())
    record = {"version": 1, "id": name, "status": "stopped", "created_at": 1.0, "started_at": 2.0}
    (run_dir / "run.json").write_text(json.dumps(record))


@pytest.mark.slow
def test_an_untrusted_project_runs_no_code_until_trusted(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project")
    marker = tmp_path / "marker"
    with (root / "custom.py").open("a") as handle:
        handle.write(MARKER_CODE.format(marker=str(marker)))
    _stopped_run(root, "digits-20260101-000000-aaaa")
    real = str(root.resolve())
    for args, action in [
        (["check", "digits"], "checking configs/digits.yaml"),
        (["launch", "digits"], "launching configs/digits.yaml"),
        (["sweep", "digits", "optimizer.lr=0.1,0.01"], "launching configs/digits.yaml"),
        (["resume", "aaaa"], "resuming runs/digits-20260101-000000-aaaa"),
    ]:
        refused = _cli(root, *args)
        assert (refused.returncode, refused.stdout) == (2, ""), (args, refused.stderr)
        assert refused.stderr == (
            f"autotrain-tui: error: {action} would run this project's code (custom.py and the "
            f"modules its configs name), and {real} is not trusted yet: run `autotrain-tui "
            f"trust -C {real}` (or pass --trust) once you have read it\n"
        )
    assert not marker.exists()
    assert [p.name for p in (root / "runs").iterdir()] == ["digits-20260101-000000-aaaa"]

    assert _cli(tmp_path, "trust", "-C", str(root)).stdout == (
        f"trusted: {real} (its custom.py and the modules its configs name may run)\n"
    )
    assert _cli(tmp_path, "trust", "--list").stdout == f"{real}\n"
    checked = _cli(root, "check", "digits", "trainer.max_epochs=1")
    assert (checked.returncode, checked.stdout) == (0, "digits: ok\n"), checked.stderr
    assert marker.read_text() == "custom.py ran"  # the full check imports custom.py

    marker.unlink()
    assert _cli(root, "trust", "--revoke").stdout == f"no longer trusted: {real}\n"
    assert _cli(root, "check", "digits").returncode == 2 and not marker.exists()
    # --trust records the decision, then acts.
    assert _cli(root, "check", "digits", "--trust").returncode == 0 and marker.exists()
    assert trust.is_trusted(root)


def test_project_gates_every_action_that_runs_project_code(tmp_path: Path) -> None:
    root = make_root(tmp_path, "standin.yaml", STANDIN_CONFIG)
    project = standin_project(root)
    assert not project.trusted
    for action in (
        lambda: project.check_config("standin"),
        lambda: project.launch("standin"),
        lambda: project.launch("standin", queue=True),
        lambda: project.sweep("standin", ["standin.seconds=1,2"]),
    ):
        with pytest.raises(UntrustedProjectError, match=r"is not trusted yet: run `autotrain-tui"):
            action()
    assert not (root / "runs").exists()  # nothing was created, nothing started


def test_custom_code_outside_the_project_needs_its_own_trust(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_root(tmp_path, "standin.yaml", STANDIN_CONFIG)
    trust.trust_project(root)
    project = standin_project(root)
    evil = tmp_path / "elsewhere" / "evil.py"
    evil.parent.mkdir()
    evil.write_text("print('anything')\n")
    (root / "lib").mkdir()
    (root / "lib" / "mine.py").write_text("")
    configs = root / "configs"
    (configs / "inside.yaml").write_text("project:\n  custom: lib/mine.py\n")
    (configs / "absolute.yaml").write_text(f"project:\n  custom: {evil}\n")
    (configs / "relative.yaml").write_text("project:\n  custom: ../elsewhere/evil.py\n")
    project.check_config("inside")  # inside the project: the project's trust covers it

    message = (
        f"configs/{{}}.yaml: project.custom is {evil.resolve()}, outside the project "
        f"{root.resolve()}, and that file is not trusted as it is now: read it, then run "
        f"`autotrain-tui trust --file {evil.resolve()}` (or move it into the project)"
    )
    for name in ("absolute", "relative"):
        with pytest.raises(UntrustedFileError) as caught:
            project.check_config(name)
        assert str(caught.value) == message.format(name)
        with pytest.raises(UntrustedFileError):
            project.launch(name)
    # The default custom.py, linked out of the project, is outside it too.
    (root / "custom.py").symlink_to(evil)
    with pytest.raises(UntrustedFileError):
        project.launch("standin")
    # An override naming the file is read like the config (the real recipe's override syntax).
    real_recipe = Project(root)
    with pytest.raises(UntrustedFileError):
        real_recipe.check_config("inside", [f"project.custom={evil}"])

    assert main(["trust", "--file", str(evil)]) == 0
    assert capsys.readouterr().out == f"trusted as it is now: {evil.resolve()}\n"
    project.check_config("absolute")
    project.check_config("relative")
    assert main(["trust", "--list"]) == 0
    assert capsys.readouterr().out == f"{root.resolve()}\n{evil.resolve()}  (file)\n"
    # An edited file is a different file: trusted again or refused.
    evil.write_text("print('something else')\n")
    with pytest.raises(UntrustedFileError):
        project.check_config("absolute")
    assert main(["trust", "--file", str(evil)]) == 0
    project.check_config("absolute")
    assert main(["trust", "--file", str(evil), "--revoke"]) == 0
    with pytest.raises(UntrustedFileError):
        project.check_config("absolute")
    assert not (root / "runs").exists()


def test_the_quick_check_needs_no_trust_and_runs_no_project_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path / "project")
    marker = tmp_path / "marker"
    with (root / "custom.py").open("a") as handle:
        handle.write(MARKER_CODE.format(marker=str(marker)))
    assert main(["check", "digits", "--quick", "-C", str(root)]) == 0
    assert capsys.readouterr().out == "digits: ok (quick check: no project code ran)\n"
    assert main(["check", "digits", "trainer.max_epoch=3", "--quick", "-C", str(root)]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors[0].startswith("<command line>:1:1: ") and "max_epochs" in errors[0]
    assert errors[-1] == (
        "autotrain-tui: error: invalid config configs/digits.yaml; nothing was launched"
    )
    assert not marker.exists() and not trust.is_trusted(root)
