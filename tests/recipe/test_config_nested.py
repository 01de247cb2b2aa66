"""References at any depth — inside lists and plain mappings of arguments — are checked
before training (quick check: short names; full check: dotted paths and signatures) and
built into real objects for the run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch

from recipe.config import check_text
from tests.helpers import run_recipe

STACK_PY = """\
import torch
from recipe.registry import register


@register("stack")
class Stack(torch.nn.Module):
    \"\"\"The layers a config lists, in order, after flattening the input.\"\"\"

    def __init__(self, layers: list, heads: dict | None = None):
        super().__init__()
        assert all(isinstance(layer, torch.nn.Module) for layer in layers), layers
        self.body = torch.nn.Sequential(torch.nn.Flatten(), *layers)
        self.heads = torch.nn.ModuleDict(heads or {})

    def forward(self, x):
        x = self.body(x)
        return self.heads["out"](x) if "out" in self.heads else x
"""

STACK_YAML = """\
data: {_target_: digits}
model:
  _target_: stack
  layers:
    - {_target_: torch.nn.Linear, in_features: 64, out_features: 32}
    - _target_: torch.nn.ReLU
    - {_target_: torch.nn.Linear, in_features: 32, out_features: 16}
  heads:
    out: {_target_: torch.nn.Linear, in_features: 16, out_features: 10}
trainer:
  max_epochs: 1
  limit_train_batches: 4
  limit_val_batches: 2
"""


def stack_project(project: Path, config: str) -> str:
    (project / "custom.py").write_text(STACK_PY)
    (project / "configs" / "stack.yaml").write_text(config)
    return "configs/stack.yaml"


def test_a_typo_in_a_dotted_target_inside_a_list_fails_the_check(project: Path) -> None:
    path = stack_project(
        project,
        STACK_YAML.replace("- _target_: torch.nn.ReLU", "- _target_: torch.nn.RelU").replace(
            "out_features: 16}", "out_featurs: 16}"
        ),
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        "configs/stack.yaml:6:17: 'torch.nn' has no 'RelU'; did you mean 'ReLU' or 'ReLU6' or "
        "'RReLU'?",
        "configs/stack.yaml:7:18: Linear() needs argument 'out_features'; add 'out_features: …'",
        "configs/stack.yaml:7:52: Linear() has no argument 'out_featurs'; did you mean "
        "'out_features' or 'in_features'? (it accepts: in_features, out_features, bias, device, "
        "dtype)",
    ]
    assert lines[3:] == ["3 problem(s) found; nothing was trained."]
    assert "Traceback" not in result.stderr


def test_a_short_name_typo_inside_a_list_fails_the_quick_check() -> None:
    text = textwrap.dedent(
        """\
        data: {_target_: digits}
        model:
          _target_: mlp
          blocks:
            - [{_target_: mlp}, {_target_: cnnn}]
        callbacks:
          - _target_: early_stopping
            monitor: {pick: [{_target_: lr_monitr}]}
        """
    )
    found = [str(p) for p in check_text(text, "c.yaml", project_dir="/nonexistent")]
    assert found == [
        "c.yaml:5:36: unknown model 'cnnn'; did you mean 'cnn'? (built-in: cnn, "
        "deeplabv3_mobilenet_v3_large, fasterrcnn_mobilenet_v3_large_320_fpn, fcn_resnet50, "
        "fcos_resnet50_fpn, "
        "lraspp_mobilenet_v3_large, mlp, resnet, retinanet_resnet50_fpn, "
        "ssdlite320_mobilenet_v3_large, timm, tiny_fcos, torchvision, unet; or register one in "
        "custom.py with @register)",
        "c.yaml:8:33: unknown callbacks 'lr_monitr'; did you mean 'lr_monitor'? (built-in: "
        "early_stopping, lr_monitor, swa; or register one in custom.py with @register)",
    ]


def test_references_in_lists_and_mappings_are_built_into_a_trained_model(project: Path) -> None:
    path = stack_project(project, STACK_YAML)
    checked = run_recipe(["check", path], project)
    assert checked.returncode == 0, checked.stderr
    result = run_recipe(["train", path, "--run-dir", "runs/stack"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    checkpoint = torch.load(
        project / "runs" / "stack" / "checkpoints" / "last.ckpt", weights_only=False
    )
    shapes = {k: tuple(v.shape) for k, v in checkpoint["state_dict"].items()}
    assert shapes == {
        "model.body.1.weight": (32, 64),
        "model.body.1.bias": (32,),
        "model.body.3.weight": (16, 32),
        "model.body.3.bias": (16,),
        "model.heads.out.weight": (10, 16),
        "model.heads.out.bias": (10,),
    }
