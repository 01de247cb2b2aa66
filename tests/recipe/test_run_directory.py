"""The run directory is self-contained and always inside the output directory, and its
metrics.jsonl ends with the recipe's end event whatever the outcome. Real runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import read_metrics, recipe_env, run_recipe

WINE_ROW = "13.2,2.8,5.0,1000,1.0"


def git_project(project: Path) -> str:
    """Make the scratch project a git repository; its commit."""
    for command in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "initial"],
    ):
        subprocess.run(["git", "-C", str(project), *command], check=True)
    head = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"], capture_output=True)
    return head.stdout.decode().strip()


def run_from(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_recipe(list(args), cwd)


def test_a_run_with_a_custom_model_works_from_any_directory(project: Path, tmp_path: Path) -> None:
    """predict and --resume import the run's own copy of custom.py (they imported
    ./custom.py: from elsewhere a raw LookupError traceback), even after the project's
    custom.py changed; code.json records the project's commit."""
    commit = git_project(project)
    trained = run_recipe(
        ["train", "configs/custom_example.yaml", "trainer.max_epochs=3", "--run-dir", "runs/x"],
        project,
    )
    assert trained.returncode == 0, trained.stdout + trained.stderr
    run = project / "runs" / "x"
    assert (run / "custom.py").read_text() == (project / "custom.py").read_text()
    code = json.loads((run / "code.json").read_text())
    assert code["git"] == {"commit": commit, "dirty": False} and code["copied"] is True

    (project / "custom.py").write_text("raise RuntimeError('the project moved on')\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    predicted = run_from(elsewhere, "predict", str(run), WINE_ROW)
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)["cultivar"].startswith("class_")

    resumed = run_from(elsewhere, "train", "--resume", str(run), "trainer.max_epochs=4")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert read_metrics(run)[-1]["status"] == "completed"
    assert sorted(p.name for p in elsewhere.iterdir()) == []


def test_the_launcher_keeps_the_code_a_run_was_launched_with(project: Path) -> None:
    """create_run copies custom.py and records the commit (dirty: the tree has changes);
    the run then trains with that copy, not with the project's custom.py as it is later."""
    from autotrain_tui.core import launcher

    git_project(project)
    (project / "configs" / "custom_example.yaml").write_text(
        (project / "configs" / "custom_example.yaml").read_text() + "\n# edited\n"
    )
    config = project / "configs" / "custom_example.yaml"
    text = config.read_text().replace("max_epochs: 25", "max_epochs: 2")
    record = launcher.create_run(
        project,
        project / "runs",
        config,
        text,
        ["trainer.max_epochs=2"],
        python=sys.executable,
        recipe_module="recipe",
        gpus_requested=0,
    )
    run = record.run_dir
    code = json.loads((run / "code.json").read_text())
    assert code["git"]["dirty"] is True and len(code["git"]["commit"]) == 40
    assert (run / "custom.py").read_text() == (project / "custom.py").read_text()

    (project / "custom.py").write_text("raise RuntimeError('edited after the launch')\n")
    result = subprocess.run(
        list(record.command),
        cwd=project,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert read_metrics(run)[-1]["status"] == "completed"


PRETRAINED = '''

import os


@register("pretrained_mlp")
class PretrainedMLP(nn.Module):
    """Starts from weights in a file; like timm, a missing file is a bare FileNotFoundError."""

    def __init__(self, input_shape, num_outputs, weights: str = "weights/start.pt", bare=True):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, num_outputs))
        if bare and not os.path.exists(weights):
            raise FileNotFoundError()
        self.net.load_state_dict(torch.load(weights))

    def forward(self, x):
        return self.net(x)
'''


@pytest.mark.parametrize("bare", [True, False], ids=["bare-error", "torch-load"])
def test_moved_pretrained_weights_are_named_in_one_line(project: Path, bare: bool) -> None:
    with (project / "custom.py").open("a") as custom:
        custom.write(PRETRAINED)
    (project / "weights").mkdir()
    import torch

    start = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    torch.save(start.state_dict(), project / "weights" / "start.pt")
    model = f"model={{_target_: pretrained_mlp, bare: {str(bare).lower()}}}"
    trained = run_recipe(
        ["train", "configs/digits.yaml", model, "trainer.max_epochs=1", "--run-dir", "r"], project
    )
    assert trained.returncode == 0, trained.stdout + trained.stderr
    (project / "weights" / "start.pt").rename(project / "weights" / "moved.pt")

    predicted = run_recipe(["predict", "r", "0," * 63 + "0"], project)
    assert predicted.returncode == 2, predicted.stdout + predicted.stderr
    assert "Traceback" not in predicted.stderr
    lines = predicted.stderr.strip().splitlines()
    assert len(lines) == 1 and "weights/start.pt" in lines[0] and "not found" in lines[0], lines

    resumed = run_recipe(["train", "--resume", "r", "trainer.max_epochs=2"], project)
    assert resumed.returncode == 2 and "Traceback" not in resumed.stderr, resumed.stderr
    assert "weights/start.pt" in resumed.stderr
    end = read_metrics(project / "r")[-1]
    assert end["event"] == "end" and end["status"] == "failed" and end["exit_code"] == 2


@pytest.mark.parametrize("name", ["../..", "../escape", "a/b", ".."])
def test_project_name_never_leads_outside_the_output_directory(
    project: Path, tmp_path: Path, name: str
) -> None:
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_recipe(["train", "configs/digits.yaml", f"project.name={name}"], project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"project.name '{name}'" in result.stderr and "one plain name" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (project / "runs").exists()


EXPLODING = (
    "import torch\nfrom recipe.registry import register\n\n"
    "@register('exploding')\nclass Exploding(torch.nn.Module):\n"
    "    def __init__(self, input_shape, num_outputs):\n"
    "        super().__init__()\n        self.lin = torch.nn.Linear(64, num_outputs)\n"
    "    def forward(self, x):\n        raise RuntimeError('boom in forward')\n"
)


def end_event(run_dir: Path) -> dict:
    last = read_metrics(run_dir)[-1]
    assert last["event"] == "end", last
    return last


def test_the_end_event_is_written_for_every_outcome(project: Path) -> None:
    """completed (0), failed in training (1), an invalid config for an existing run
    directory (2): the last line of metrics.jsonl says so, with the exit code."""
    ok = run_recipe(
        ["train", "configs/digits.yaml", "trainer.max_epochs=1", "--run-dir", "ok"], project
    )
    assert ok.returncode == 0
    assert end_event(project / "ok")["status"] == "completed"
    assert end_event(project / "ok")["exit_code"] == 0

    (project / "custom.py").write_text(EXPLODING)
    failed = run_recipe(
        ["train", "configs/digits.yaml", "model=exploding", "--run-dir", "failed"], project
    )
    assert failed.returncode == 1
    end = end_event(project / "failed")
    assert (end["status"], end["exit_code"]) == ("failed", 1)
    assert {"time", "step", "epoch"} <= set(end)

    (project / "launched").mkdir()  # as the launcher leaves it: the directory exists
    invalid = run_recipe(
        ["train", "configs/digits.yaml", "trainer.max_epoch=1", "--run-dir", "launched"], project
    )
    assert invalid.returncode == 2
    end = end_event(project / "launched")
    assert (end["status"], end["exit_code"]) == ("failed", 2)


def test_a_stop_before_training_started_ends_with_the_end_event(project: Path) -> None:
    """SIGTERM while the config is still being checked (custom.py importing): exit 3, and
    the run directory says so itself."""
    import os
    import signal

    from tests.helpers import start_recipe, wait_for

    (project / "custom.py").write_text(
        "import pathlib, time\npathlib.Path('importing').write_text('')\ntime.sleep(5)\n"
    )
    (project / "r").mkdir()
    process = start_recipe(["train", "configs/digits.yaml", "--run-dir", "r"], project)
    try:
        wait_for(lambda: (project / "importing").exists(), what="custom.py being imported")
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 3, output
    assert "before training started" in output
    end = end_event(project / "r")
    assert (end["status"], end["exit_code"]) == ("stopped", 3)
