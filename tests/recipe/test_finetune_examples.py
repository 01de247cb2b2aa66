"""The shipped fine-tuning examples run as the README shows: images written by the shapes
script, pretrained weights found in the library's own cache, train, then predict.

No network here, so the "pretrained" weights are files these tests write (a freshly
initialised model's state dict) into the cache each library reads: the Hugging Face hub
cache for timm, $TORCH_HOME/hub/checkpoints for torchvision. The configs themselves are
the committed ones, run unchanged but for a shorter schedule and a smaller image size, so
what is tested is the path a user takes, not the accuracy real ImageNet weights would give
(see the README's "Fine-tune a pretrained model" for what was measured where).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from torchvision.models import get_model

from recipe.vision.shapes import write_shapes
from tests.helpers import put_in_hf_cache, recipe_env

pytestmark = pytest.mark.slow

CLASSES = ["circle", "square", "triangle"]
# Shorter than the examples' own schedule (6 epochs at 64 px): one frozen epoch, one unfrozen.
QUICK = ["trainer.max_epochs=2", "data.size=32", "dataloader.num_workers=1"]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def shapes_project(project: Path) -> Path:
    """The project with the README's first command run: data/shapes, plus held-out images."""
    result = run(
        ["recipe.vision.shapes", "data/shapes", "--per-class", "16", "--size", "48"],
        project,
        recipe_env(),
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 48 images" in result.stdout
    write_shapes(project / "held_out", per_class=2, size=48, seed=7)
    return project


def train_and_predict(project: Path, config: str, env: dict[str, str]) -> dict[str, object]:
    check = run(["recipe", "check", config, *QUICK], project, env)
    assert check.returncode == 0, check.stdout + check.stderr
    train = run(["recipe", "train", config, *QUICK, "--run-dir", "runs/ex"], project, env)
    assert train.returncode == 0, train.stdout + train.stderr[-3000:]
    # The config's fine-tuning is what ran: the head alone, then everything at lr x 0.1.
    assert "freeze_epochs 1: training only" in train.stdout
    assert "backbone lr = lr x 0.1" in train.stdout
    held_out = sorted(str(p) for p in (project / "held_out").rglob("*.png"))
    predict = run(["recipe", "predict", "runs/ex", *held_out], project, env)
    assert predict.returncode == 0, predict.stderr
    rows = [json.loads(line) for line in predict.stdout.splitlines()]
    assert len(rows) == len(held_out) == 6
    for row, path in zip(rows, held_out, strict=True):
        assert row["input"] == path and row["prediction"] in CLASSES, row
        assert [item["class"] for item in row["top_k"]] != [] and len(row["top_k"]) == 3
    info = json.loads((project / "runs" / "ex" / "predict.json").read_text())
    assert info["class_names"] == CLASSES
    return info["preprocess"]["image"]


def test_the_timm_example_fine_tunes_from_the_hugging_face_cache(
    shapes_project: Path, tmp_path: Path
) -> None:
    fresh = timm.create_model("resnet18")
    put_in_hf_cache(tmp_path / "hf", fresh.pretrained_cfg["hf_hub_id"], fresh.state_dict())
    env = recipe_env() | {"HF_HOME": str(tmp_path / "hf")}
    image = train_and_predict(shapes_project, "configs/finetune_timm.yaml", env)
    assert image["source"].startswith("timm:resnet18")
    assert image["input_size"] == [3, 32, 32]
    assert image["interpolation"] == "bicubic"  # resnet18.a1_in1k's own, not a default


def test_the_torchvision_example_fine_tunes_from_torch_home(
    shapes_project: Path, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(
        get_model("mobilenet_v3_small").state_dict(),
        checkpoints / "mobilenet_v3_small-047dcff4.pth",
    )
    env = recipe_env() | {"TORCH_HOME": str(tmp_path / "torch")}
    image = train_and_predict(shapes_project, "configs/finetune_torchvision.yaml", env)
    assert image["source"] == "torchvision:MobileNet_V3_Small_Weights.IMAGENET1K_V1"
    assert image["input_size"] == [3, 32, 32]
