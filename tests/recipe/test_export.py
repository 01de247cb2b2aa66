"""`python -m recipe export`: real exports of tiny trained runs, loaded back and compared.

Each built-in model (mlp for classification and regression, cnn, resnet) and a timm and a
torchvision backbone is trained for a few batches, exported to ONNX and to TorchScript, and
the written file is run here (onnxruntime, torch.jit.load) against the run's PyTorch model
on its validation inputs. The "pretrained" weights the two backbones start from are files
this test writes (a freshly initialised model's state dict) where each library looks
offline. Two models from the project's custom.py are made to fail: one whose forward
differs while being traced or exported (the verification must catch it), and one with a
data-dependent branch in a submodule (the error must name that part).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from recipe.export import ATOL, RTOL, export, sample_inputs, spec_path
from recipe.loaded_run import load_run
from tests.helpers import make_project, put_in_hf_cache, recipe_env

pytestmark = pytest.mark.slow

QUICK = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1"]
IMAGES = """\
data:
  _target_: image_folder
  path: examples/digit_images
  size: 32
dataloader:
  batch_size: 16
  num_workers: 0
model:
{model}"""

BROKEN_MODELS = '''

@register("trace_differs")
class TraceDiffers(nn.Module):
    """Adds 1 to its outputs while being traced or exported, not when run eagerly."""

    def __init__(self, input_shape, num_outputs):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), num_outputs))

    def forward(self, x):
        out = self.net(x)
        if torch.jit.is_tracing() or torch.compiler.is_exporting():
            out = out + 1.0
        return out


class SignGate(nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # a branch on the data: torch.export cannot capture it
            return x
        return -x


@register("branchy")
class Branchy(nn.Module):
    def __init__(self, input_shape, num_outputs):
        super().__init__()
        width = int(np.prod(input_shape))
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(width, 16), SignGate())
        self.head = nn.Linear(16, num_outputs)

    def forward(self, x):
        return self.head(self.body(x))
'''

RUNS = {
    "mlp": ["configs/digits.yaml"],
    "regression": ["configs/diabetes_csv.yaml"],
    "cnn": ["configs/digits_cnn.yaml", "model.channels=[8,16]"],
    "resnet": ["configs/resnet.yaml"],
    "timm": ["configs/timm.yaml"],
    "torchvision": ["configs/torchvision.yaml"],
    "trace_differs": ["configs/trace_differs.yaml"],
    "branchy": ["configs/branchy.yaml"],
}


def weights_env(root: Path) -> dict[str, str]:
    """Pretrained weights for resnet10t (timm) and mobilenet_v3_small (torchvision), written
    where each library reads them offline."""
    import timm
    from torchvision.models import get_model

    fresh = timm.create_model("resnet10t")
    put_in_hf_cache(root / "hf", fresh.pretrained_cfg["hf_hub_id"], fresh.state_dict())
    checkpoints = root / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(
        get_model("mobilenet_v3_small").state_dict(),
        checkpoints / "mobilenet_v3_small-047dcff4.pth",
    )
    return {"HF_HOME": str(root / "hf"), "TORCH_HOME": str(root / "torch")}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project with every run of RUNS trained for two batches."""
    root = tmp_path_factory.mktemp("export")
    project = make_project(root / "project")
    with (project / "custom.py").open("a") as handle:
        handle.write(BROKEN_MODELS)
    for custom in ("trace_differs", "branchy"):
        (project / "configs" / f"{custom}.yaml").write_text(
            f"data:\n  _target_: digits\nmodel:\n  _target_: {custom}\n"
        )
    (project / "configs" / "resnet.yaml").write_text(
        "data:\n  _target_: digits\n  as_image: true\n"
        "model:\n  _target_: resnet\n  widths: [8, 16]\n"
    )
    (project / "configs" / "timm.yaml").write_text(
        IMAGES.format(model="  _target_: timm\n  name: resnet10t\n  pretrained: true\n")
    )
    (project / "configs" / "torchvision.yaml").write_text(
        IMAGES.format(
            model="  _target_: torchvision\n  name: mobilenet_v3_small\n  weights: DEFAULT\n"
        )
    )
    env = recipe_env() | weights_env(root)
    for name, args in RUNS.items():
        result = subprocess.run(
            [sys.executable, "-m", "recipe", "train", *args, *QUICK, "--run-dir", f"runs/{name}"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, name + result.stdout + result.stderr[-3000:]
    return project


def run_exported(fmt: str, path: Path, x: torch.Tensor) -> np.ndarray:
    """The written file, loaded by its own runtime."""
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return np.asarray(session.run(None, {"input": x.numpy()})[0])
    with warnings.catch_warnings():  # torch 2.9+ marks TorchScript deprecated; meant here
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(path))
    with torch.inference_mode():
        return np.asarray(loaded(x).numpy())


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("name", ["mlp", "regression", "cnn", "resnet", "timm", "torchvision"])
def test_every_built_in_model_exports_and_answers_as_pytorch_does(
    trained: Path, name: str, fmt: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(trained)  # the runs' data paths are the project's
    out = trained / "exports" / f"{name}.{fmt}"
    assert export(f"runs/{name}", fmt, "last", str(out)) == 0, capsys.readouterr().err
    assert "max |difference|" in capsys.readouterr().out
    spec = json.loads(Path(spec_path(str(out))).read_text())
    assert spec["format"] == fmt and spec["model_file"] == out.name
    assert spec["checkpoint"] == "last.ckpt" and len(spec["checkpoint_sha256"]) == 64
    assert spec["verified"]["inputs"].endswith("validation samples of the run's data")
    assert spec["task"] == ("regression" if name == "regression" else "classification")
    run = load_run(f"runs/{name}", "last")
    assert spec["preprocess"] == run.info["preprocess"]
    inputs, _ = sample_inputs(run, count=5)  # another batch size than the export's own check
    expected = run.forward(inputs).numpy()
    actual = run_exported(fmt, out, inputs)
    np.testing.assert_allclose(actual, expected, atol=ATOL, rtol=RTOL)
    assert actual.shape[0] == 5


def test_the_command_line_writes_beside_the_run_by_default(trained: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "recipe", "export", "runs/mlp", "--format", "onnx"],
        cwd=trained,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    model = trained / "runs" / "mlp" / "export" / "model.onnx"
    assert f"exported onnx: {os.path.join('runs', 'mlp', 'export', 'model.onnx')}" in result.stdout
    assert json.loads(Path(spec_path(str(model))).read_text())["input_shape"] == ["batch", 64]


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_an_export_that_differs_from_eager_fails_loudly_and_writes_nothing(
    trained: Path, fmt: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(trained)
    out = trained / "exports" / f"differs.{fmt}"
    assert export("runs/trace_differs", fmt, "auto", str(out)) == 1
    err = capsys.readouterr().err
    assert f"the {fmt} model's outputs differ from PyTorch's" in err
    assert "max |difference| 1 (allowed: 0.0001 + 0.001 x |expected|)" in err
    assert not out.exists() and not Path(spec_path(str(out))).exists()
    assert list((trained / "exports").glob("differs*")) == []


def test_a_model_that_cannot_be_exported_names_the_part_and_why(
    trained: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(trained)
    out = trained / "exports" / "branchy.onnx"
    assert export("runs/branchy", "onnx", "auto", str(out)) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("export: runs/branchy: the model (Branchy) cannot be exported to onnx:")
    assert "its part body.2 (SignGate): GuardOnDataDependentSymNode" in err
    assert "data-dependent" in err.lower() or "data dependent" in err.lower(), err
    assert len(err.splitlines()) == 1 and not out.exists()


def test_a_run_without_the_checkpoint_asked_for_is_one_clear_line(trained: Path) -> None:
    shutil.copytree(trained / "runs" / "mlp", trained / "runs" / "no_best")
    (trained / "runs" / "no_best" / "checkpoints" / "best.ckpt").unlink(missing_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "recipe",
            "export",
            "runs/no_best",
            "--format",
            "onnx",
            "--checkpoint",
            "best",
            "--out",
            "x.onnx",
        ],
        cwd=trained,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "runs/no_best: no trained model here (needs predict.json and checkpoints/best.ckpt); "
        "train it first"
    )
    assert not (trained / "x.onnx").exists()
