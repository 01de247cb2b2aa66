"""A model named by dotted path gets only what it names; the rest the user maps with
`${data.*}`.

`torchvision.models.resnet18` takes `**kwargs` and hands them to a part that refuses
`input_shape`: the recipe used to inject `input_shape` and `num_outputs` into any callable
taking `**kwargs`, so such a config passed the check and failed in training. The nets
below behave the same way (what they do not name goes on to `nn.Linear`), trained for
real on digits.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from tests.helpers import read_metrics, run_recipe

NETS = '''\
from torch import nn


class KwargsNet(nn.Module):
    """Like torchvision's models: a class count by its own name, the rest passed on."""

    def __init__(self, num_classes=1000, **kwargs):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 32, **kwargs), nn.ReLU())
        self.head = nn.Linear(32, num_classes)

    def forward(self, x):
        return self.head(self.body(x))


def factory(num_outputs, **kwargs):
    """Names num_outputs, so the recipe gives it; input_shape it does not name."""
    return nn.Sequential(nn.Linear(64, 32, **kwargs), nn.ReLU(), nn.Linear(32, num_outputs))


class Needs(nn.Module):
    def __init__(self, num_classes: int):
        super().__init__()
        self.head = nn.Linear(64, num_classes)
'''


def write(project: Path, name: str, text: str) -> str:
    (project / "nets.py").write_text(NETS)
    (project / "configs" / name).write_text(textwrap.dedent(text))
    return f"configs/{name}"


def test_a_kwargs_model_gets_nothing_injected_and_trains_with_data_num_classes(
    project: Path, tmp_path: Path
) -> None:
    path = write(
        project,
        "kwargs.yaml",
        """\
        data: digits
        model:
          _target_: nets.KwargsNet
          num_classes: ${data.num_classes}
        trainer: {max_epochs: 3}
        """,
    )
    check = run_recipe(["check", path], project)
    assert check.returncode == 0, check.stderr
    result = run_recipe(["train", path, "--run-dir", "runs/kwargs"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    records = read_metrics(project / "runs" / "kwargs")
    accuracy = [r["metrics"]["val/acc"] for r in records if "val/acc" in r.get("metrics", {})]
    assert accuracy[-1] > 0.8
    # predict rebuilds the model from the checkpoint, the class count filled in as trained
    digits = load_digits()
    rows = tmp_path / "rows.csv"
    header = ",".join(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    lines = [",".join(str(v) for v in image.reshape(-1)) for image in digits.images[:50]]
    rows.write_text("\n".join([header, *lines]) + "\n")
    predicted = run_recipe(["predict", "runs/kwargs", str(rows)], project)
    assert predicted.returncode == 0, predicted.stderr
    labels = [int(json.loads(line)["prediction"]) for line in predicted.stdout.splitlines()]
    assert np.mean(np.array(labels) == digits.target[:50]) > 0.8


def test_a_factory_naming_num_outputs_still_gets_it(project: Path) -> None:
    # It names num_outputs (given: a head of 10), not input_shape (once pushed into its
    # **kwargs, on to nn.Linear, which refused it).
    path = write(
        project,
        "factory.yaml",
        """\
        data: digits
        model: {_target_: nets.factory}
        trainer: {max_epochs: 1}
        """,
    )
    result = run_recipe(["train", path, "--run-dir", "runs/factory"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    records = read_metrics(project / "runs" / "factory")
    assert records[-1]["status"] == "completed"
    assert [r["metrics"]["val/acc"] for r in records if "val/acc" in r.get("metrics", {})]


def test_data_values_are_checked_at_their_line(project: Path) -> None:
    path = write(
        project,
        "regression.yaml",
        """\
        data: diabetes
        model:
          _target_: nets.KwargsNet
          num_classes: ${data.num_classes}
        """,
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configs/regression.yaml:4:16: ${data.num_classes}: this data is a regression task, "
        "it has no classes; use ${data.num_outputs}",
        "1 problem(s) found; nothing was trained.",
    ]


def test_data_value_mistakes_are_quick_check_problems(project: Path) -> None:
    path = write(
        project,
        "typo.yaml",
        """\
        data:
          _target_: digits
          val_fraction: ${data.num_classes}
        model:
          _target_: nets.KwargsNet
          num_classes: ${data.num_clases}
        trainer:
          max_epochs: ${data.num_classes}
        """,
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    assert result.stderr.splitlines()[:3] == [
        "configs/typo.yaml:3:17: interpolation '${data.num_classes}': the data's values are "
        "known only once the data is built, not inside it",
        "configs/typo.yaml:6:16: interpolation '${data.num_clases}': no key 'data.num_clases'; "
        "did you mean 'data.num_classes' or 'data.num_features'? (values the data gives: "
        "num_classes, num_outputs, input_shape, num_features, in_channels, class_names, task)",
        "configs/typo.yaml:8:15: 'trainer.max_epochs': ${data.num_classes} is known only once "
        "the data is built; use it in the arguments of what the recipe builds after the data "
        "(model, loss, optimizer, scheduler, callbacks)",
    ]


def test_a_model_needing_a_data_value_is_told_which(project: Path) -> None:
    path = write(project, "needs.yaml", "data: digits\nmodel: nets.Needs\n")
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    assert (
        "Needs() needs argument 'num_classes'; add 'num_classes: ${data.num_classes}'"
        in result.stderr
    )


def test_a_data_value_of_the_wrong_type_is_a_check_problem(project: Path) -> None:
    path = write(
        project,
        "names.yaml",
        "data: digits\nmodel:\n  _target_: nets.Needs\n  num_classes: ${data.class_names}\n",
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(
        "configs/names.yaml:4:16: Needs() argument 'num_classes' "
    )
