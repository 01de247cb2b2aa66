"""A monitored metric the task does not log, or a frozen module the model does not have, is
a config problem found before training — by `recipe check` and by `train` before it makes
a run directory — with did-you-mean over what the task logs / what the model holds."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.helpers import run_recipe

CLASSIFICATION_METRICS = "(it logs: val/loss, val/acc, val/f1, train/loss_epoch)"


def write(project: Path, name: str, text: str) -> str:
    (project / "configs" / name).write_text(textwrap.dedent(text))
    return f"configs/{name}"


def test_check_refuses_a_metric_the_task_does_not_log(project: Path) -> None:
    result = run_recipe(["check", "configs/digits.yaml", "trainer.monitor=val/accuracy"], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "<command line>:1:1: trainer.monitor 'val/accuracy' is not a metric this "
        f"classification run logs; did you mean 'val/acc'? {CLASSIFICATION_METRICS}",
        "1 problem(s) found; nothing was trained.",
    ]
    fine = run_recipe(["check", "configs/digits.yaml", "trainer.monitor=val/f1"], project)
    assert fine.returncode == 0, fine.stderr


def test_every_named_monitor_is_checked_at_its_line(project: Path) -> None:
    path = write(
        project,
        "monitors.yaml",
        """\
        data: {_target_: diabetes}
        model: {_target_: mlp}
        scheduler:
          _target_: plateau
          monitor: val/los
        callbacks:
          - {_target_: early_stopping, monitor: val/acc}
        trainer:
          monitor: val/r2
        """,
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    metrics = "(it logs: val/loss, val/mae, val/mse, val/r2, train/loss_epoch)"
    assert result.stderr.splitlines() == [
        "configs/monitors.yaml:5:12: scheduler.monitor 'val/los' is not a metric this "
        "regression run logs; did you mean 'val/loss' or 'val/mse' or 'val/r2'? "
        f"{metrics}",
        "configs/monitors.yaml:7:41: early_stopping's monitor 'val/acc' is not a metric this "
        f"regression run logs; did you mean 'val/mae' or 'val/r2'? {metrics}",
        "2 problem(s) found; nothing was trained.",
    ]


def test_train_refuses_a_wrong_monitor_before_making_a_run_directory(project: Path) -> None:
    path = write(
        project,
        "acc.yaml",
        """\
        data: {_target_: digits}
        model: {_target_: mlp, hidden: [16]}
        trainer:
          max_epochs: 1
          limit_train_batches: 2
          monitor: val/accuracy
        """,
    )
    result = run_recipe(["train", path, "--run-dir", "runs/acc"], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configs/acc.yaml:6:12: trainer.monitor 'val/accuracy' is not a metric this "
        f"classification run logs; did you mean 'val/acc'? {CLASSIFICATION_METRICS}",
        "1 problem(s) found; nothing was trained.",
    ]
    assert not (project / "runs" / "acc").exists()


def test_check_refuses_a_frozen_module_the_model_does_not_have(project: Path) -> None:
    result = run_recipe(
        ["check", "configs/custom_example.yaml", "trainer.freeze_module=backbon"], project
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "<command line>:1:1: trainer.freeze_module 'backbon': the model (ResidualMLP) has no "
        "submodule 'backbon'; did you mean 'backbone'? (its submodules: stem, blocks, "
        "backbone, head); set trainer.freeze_module to the one to freeze during freeze_epochs",
        "1 problem(s) found; nothing was trained.",
    ]


def test_freezing_a_model_without_a_backbone_trains_its_head_first(project: Path) -> None:
    (project / "custom.py").write_text(
        textwrap.dedent(
            """\
            import torch
            from recipe.registry import register


            @register("plain")
            class Plain(torch.nn.Module):
                def __init__(self, input_shape, num_outputs):
                    super().__init__()
                    self.features = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 8))
                    self.classifier = torch.nn.Linear(8, num_outputs)

                def forward(self, x):
                    return self.classifier(self.features(x))
            """
        )
    )
    path = write(
        project,
        "plain.yaml",
        """\
        data: {_target_: digits}
        model: {_target_: plain}
        trainer:
          max_epochs: 2
          limit_train_batches: 2
          freeze_epochs: 1
        """,
    )
    # Once refused (no `backbone`): the default now freezes all but the head, found here as
    # the submodule holding the last Linear layer; naming the module to freeze still works.
    result = run_recipe(["train", path, "--run-dir", "runs/plain"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "freeze_epochs 1: training only model.classifier (the submodule holding its last "
        "Linear layer); 520 of 610 parameters frozen" in result.stdout
    )
    assert "unfreezing the backbone at epoch 2" in result.stdout
    named = run_recipe(
        ["train", path, "trainer.freeze_module=features", "--run-dir", "runs/named"], project
    )
    assert named.returncode == 0, named.stdout + named.stderr
    assert (
        "freeze_epochs 1: freezing model.features (trainer.freeze_module); 520 of 610 "
        "parameters frozen" in named.stdout
    )
    assert "unfreezing model.features at epoch 2" in named.stdout


def test_train_builds_the_data_once_when_the_check_built_it(project: Path) -> None:
    (project / "custom.py").write_text(
        textwrap.dedent(
            """\
            from recipe.data import digits
            from recipe.registry import register


            @register("counted_digits")
            def counted_digits(seed: int = 0):
                with open("builds.txt", "a") as log:
                    log.write("built\\n")
                return digits(seed=seed)
            """
        )
    )
    path = write(
        project,
        "counted.yaml",
        """\
        data: {_target_: counted_digits}
        model: {_target_: mlp, hidden: [16]}
        trainer:
          max_epochs: 1
          limit_train_batches: 2
          monitor: val/f1
        """,
    )
    result = run_recipe(["train", path, "--run-dir", "runs/counted"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "builds.txt").read_text() == "built\n"


def test_an_error_building_the_data_for_the_check_points_at_custom_py(project: Path) -> None:
    (project / "custom.py").write_text(
        textwrap.dedent(
            """\
            from recipe.registry import register


            @register("broken_data")
            def broken_data(seed: int = 0):
                rows = []
                return rows[3]
            """
        )
    )
    path = write(
        project,
        "broken.yaml",
        """\
        data: {_target_: broken_data}
        model: {_target_: mlp}
        trainer: {monitor: val/f1}
        """,
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "custom.py:7:1: in custom.py: IndexError: list index out of range (raised while "
        "building the data to check the monitored metric)",
        "1 problem(s) found; nothing was trained.",
    ]
