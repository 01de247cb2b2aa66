"""The GPU-speed paths of recipe/speed.py: decided from the device, and taken in real training.

This machine has no GPU. The decision (`speed.plan`) is pure and tested for every device
kind directly. To prove each path is TAKEN, a real `python -m recipe train` runs with one
thing faked: `recipe.speed.probe`, the device-capabilities probe, answers as a CUDA GPU
with bfloat16 would (same function, same `Capabilities` type); the training itself runs on
the CPU, where each path runs for real (bf16 autocast, channels_last weights and batches,
the cudnn.benchmark flag, a DataLoader asked to pin; torch only warns that it cannot pin
without a GPU). A callback in the project's custom.py records what the first training
step saw. torch.compile needs no fake: it really compiles a tiny CNN on the CPU.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from recipe.speed import Capabilities, plan
from recipe.vision.shapes import write_shapes
from tests.helpers import read_metrics, recipe_env, run_recipe

CUDA_BF16 = Capabilities(device="cuda", bf16=True, name="test GPU")
TRAINER_DEFAULTS = {"precision": "auto", "channels_last": "auto", "benchmark": "auto"}


def test_plan_on_a_cuda_gpu_with_bf16_uses_every_speed_path() -> None:
    chosen = plan(TRAINER_DEFAULTS, {"pin_memory": "auto"}, CUDA_BF16, conv_net=True)
    assert (chosen.precision, chosen.channels_last, chosen.benchmark, chosen.pin_memory) == (
        "bf16-mixed",
        True,
        True,
        True,
    )
    assert chosen.describe() == (
        "speed: bf16-mixed, channels_last, cudnn.benchmark, pinned (cuda test GPU)"
    )
    assert "pinned" not in chosen.describe(pinned=False)  # the in-memory loader pins nothing


def test_plan_follows_the_device_the_model_and_the_config() -> None:
    older_gpu = Capabilities(device="cuda", bf16=False)
    assert plan(TRAINER_DEFAULTS, {}, older_gpu, conv_net=True).precision == "32"
    mlp = plan(TRAINER_DEFAULTS, {}, CUDA_BF16, conv_net=False)
    assert not mlp.channels_last and mlp.benchmark  # NHWC means nothing without convolutions
    deterministic = plan({**TRAINER_DEFAULTS, "deterministic": True}, {}, CUDA_BF16, conv_net=True)
    assert not deterministic.benchmark
    for device in ("cpu", "mps"):
        chosen = plan(TRAINER_DEFAULTS, {"pin_memory": "auto"}, Capabilities(device), conv_net=True)
        assert (chosen.precision, chosen.channels_last, chosen.benchmark) == ("32", False, False)
        assert not chosen.pin_memory and not chosen.compile
        assert chosen.describe() == f"speed: 32 ({device})"
    explicit = {"precision": "16-mixed", "channels_last": True, "benchmark": True, "compile": True}
    chosen = plan(explicit, {"pin_memory": True}, Capabilities("cpu"), conv_net=False)
    assert (chosen.precision, chosen.channels_last, chosen.benchmark) == ("16-mixed", True, True)
    assert chosen.pin_memory and chosen.compile
    off = {"precision": "32", "channels_last": False, "benchmark": False}
    chosen = plan(off, {"pin_memory": False}, CUDA_BF16, conv_net=True)
    assert chosen.describe() == "speed: 32 (cuda test GPU)"


def test_the_decision_imports_no_torch() -> None:
    import subprocess

    probe = (
        "import sys, recipe.speed; print(sorted({'torch', 'pytorch_lightning'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=recipe_env(), capture_output=True, text=True, timeout=60
    )
    assert result.stdout == "[]\n", result.stderr


# The probe answers as a CUDA GPU with bfloat16; everything else is the real command.
FAKE_CUDA_RUNNER = """
import sys
from recipe import speed
speed.probe = lambda accelerator: speed.Capabilities("cuda", bf16=True, name="faked by the test")
from recipe.__main__ import exit_after_cleanup, main
exit_after_cleanup(main(sys.argv[1:]))
"""

# Records what the first training step saw; registered in the test project's custom.py.
PROBE_CALLBACK = """
import json
import pytorch_lightning as pl
import torch
from recipe.registry import register


def nhwc(t):
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


@register("speed_probe")
class SpeedProbe(pl.Callback):
    def __init__(self, out):
        self.out, self.seen, self.hook = out, {}, None

    def on_train_start(self, trainer, pl_module):
        conv = next(m for m in pl_module.model.modules() if isinstance(m, torch.nn.Conv2d))

        def look(module, inputs, output):
            if "output_dtype" not in self.seen:
                self.seen.update(input_nhwc=nhwc(inputs[0]), weight_nhwc=nhwc(module.weight),
                                 output_dtype=str(output.dtype))

        if not pl_module.model._compiled_call_impl:  # hooks inside a compiled graph: none
            self.hook = conv.register_forward_hook(look)
        loader = trainer.train_dataloader
        self.seen.update(precision=str(trainer.precision),
                         cudnn_benchmark=torch.backends.cudnn.benchmark,
                         loader=type(loader).__name__,
                         pin_memory=getattr(loader, "pin_memory", None))

    def on_train_end(self, trainer, pl_module):
        from torch._dynamo.utils import counters

        self.seen["compiled_graphs"] = counters["stats"]["unique_graphs"]
        with open(self.out, "w") as handle:
            json.dump(self.seen, handle)
"""


@pytest.fixture
def shapes_project(tmp_path: Path) -> Path:
    """A project: 3 classes x 10 generated 16 px images, a small CNN, the probe callback."""
    project = tmp_path / "project"
    write_shapes(project / "shapes", per_class=10, size=16, seed=0)
    write_shapes(tmp_path / "held_out", per_class=2, size=16, seed=1)
    (project / "custom.py").write_text(PROBE_CALLBACK)
    (project / "fake_cuda.py").write_text(FAKE_CUDA_RUNNER)
    (project / "shapes.yaml").write_text(
        "data: {_target_: image_folder, path: shapes, size: 16}\n"
        "dataloader: {batch_size: 8, num_workers: 1}\n"
        "model: {_target_: cnn, channels: [4, 8]}\n"
        "trainer: {max_epochs: 1, log_every_n_steps: 1}\n"
        "callbacks: [{_target_: speed_probe, out: seen.json}]\n"
    )
    return project


def test_on_a_cuda_device_every_speed_path_is_taken(shapes_project: Path) -> None:
    import subprocess

    command = [sys.executable, "fake_cuda.py", "train", "shapes.yaml", "--run-dir", "r"]
    result = subprocess.run(
        command, cwd=shapes_project, env=recipe_env(), capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout + result.stderr
    speed_lines = [line for line in result.stdout.splitlines() if line.startswith("speed:")]
    assert speed_lines == [
        "speed: bf16-mixed, channels_last, cudnn.benchmark, pinned (cuda faked by the test)"
    ]
    seen = json.loads((shapes_project / "seen.json").read_text())
    assert seen == {
        "precision": "bf16-mixed",
        "cudnn_benchmark": True,
        "loader": "ResumableDataLoader",  # a real DataLoader over files, not the in-memory path
        "pin_memory": True,
        "input_nhwc": True,
        "weight_nhwc": True,
        "output_dtype": "torch.bfloat16",
        "compiled_graphs": 0,
    }

    # The same run without the fake: this CPU takes none of the GPU paths.
    result = run_recipe(["train", "shapes.yaml", "--run-dir", "cpu"], shapes_project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "speed: 32 (cpu)" in result.stdout.splitlines()
    seen = json.loads((shapes_project / "seen.json").read_text())
    assert seen["precision"] == "32-true" and seen["output_dtype"] == "torch.float32"
    assert not (seen["cudnn_benchmark"] or seen["pin_memory"])
    assert not (seen["input_nhwc"] or seen["weight_nhwc"])


def test_compile_trains_a_compiled_model_whose_checkpoint_predicts_and_resumes(
    shapes_project: Path, tmp_path: Path
) -> None:
    import torch

    result = run_recipe(
        ["train", "shapes.yaml", "trainer.compile=true", "--run-dir", "r"], shapes_project
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "speed: 32, torch.compile (cpu)" in result.stdout.splitlines()
    seen = json.loads((shapes_project / "seen.json").read_text())
    assert seen["compiled_graphs"] >= 1  # dynamo captured and compiled the model's forward
    # nn.Module.compile() compiles in place: the state dict keeps the model's own keys.
    state = torch.load(shapes_project / "r/checkpoints/last.ckpt", weights_only=False)
    assert not [key for key in state["state_dict"] if "_orig_mod" in key]

    images = sorted(str(p) for p in (tmp_path / "held_out").rglob("*.png"))
    result = run_recipe(["predict", "r", *images], shapes_project)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 6 and {r["prediction"] for r in rows} <= {"circle", "square", "triangle"}

    # The compiled run's checkpoint resumes into an uncompiled model: it is the same model.
    result = run_recipe(
        ["train", "--resume", "r", "trainer.max_epochs=2", "trainer.compile=false"],
        shapes_project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ends = [r for r in read_metrics(shapes_project / "r") if "status" in r]
    assert ends[-1]["status"] == "completed" and ends[-1]["step"] == 2 * ends[0]["step"]
