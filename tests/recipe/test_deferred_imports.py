"""scipy.signal and torchvision are put off until used: training starts sooner, user code sees
no change.

torchmetrics imports scipy.signal and torchvision at start-up for nothing training needs
(recipe/deferred_imports.py). Each check runs in a fresh interpreter, since what is
being tested is the state of `sys.modules` from the first import on.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import recipe_env

# A submodule that only the real `import scipy.signal` loads.
REAL_SIGNAL_MARK = "scipy.signal._signal_api"
# Submodules that only the real `import torchvision` loads (its C++ operators).
REAL_TORCHVISION_MARKS = ("torchvision.ops", "torchvision.extension")


def run_python(code: str, cwd: Path | None = None) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split()


def test_without_the_stand_in_lightning_loads_scipy_signal() -> None:
    # The cost this module exists to avoid is real: the control for the test below.
    code = f"import sys, pytorch_lightning; print({REAL_SIGNAL_MARK!r} in sys.modules)"
    assert run_python(code) == ["True"]


def test_lightning_starts_without_it_and_user_code_still_gets_the_real_module() -> None:
    code = f"""
import inspect, sys
from recipe.deferred_imports import defer_scipy_signal
print(defer_scipy_signal())
import scipy.signal as held_early      # a reference taken before anything used it
import pytorch_lightning, torchmetrics
inspect.getmodule(defer_scipy_signal)  # scans every module's __file__
print({REAL_SIGNAL_MARK!r} in sys.modules)

from scipy.signal import butter         # what a custom.py might do
b, a = butter(2, 0.5)
print(len(b), {REAL_SIGNAL_MARK!r} in sys.modules)
import scipy, scipy.signal
print(type(sys.modules["scipy.signal"]).__name__, scipy.signal is sys.modules["scipy.signal"])
print(list(scipy.signal.hamming(3)) == list(scipy.signal.windows.hamming(3)))
print(held_early.windows.hamming is scipy.signal.windows.hamming)
print(defer_scipy_signal())             # already loaded: nothing to put off
"""
    expected = ["True", "False", "3", "True", "module", "True", "True", "True", "False"]
    assert run_python(code) == expected


def test_a_training_run_and_predict_never_import_scipy_signal(project: Path) -> None:
    env = recipe_env() | {"PYTHONPROFILEIMPORTTIME": "1"}
    commands = (
        ["train", "configs/digits.yaml", "trainer.max_epochs=1", "--run-dir", "runs/a"],
        ["predict", "runs/a", ",".join(["0"] * 64)],
    )
    for args in commands:
        result = subprocess.run(
            [sys.executable, "-m", "recipe", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
        assert "pytorch_lightning" in imported  # the import-time trace is there to read
        assert not [name for name in imported if name.startswith("scipy.signal")], args
        assert not [name for name in imported if name in REAL_TORCHVISION_MARKS], args


def test_without_the_stand_ins_lightning_loads_torchvision() -> None:
    # The control for the tests below: torchmetrics' start-up really imports torchvision.
    code = "import sys, pytorch_lightning; print('torchvision.ops' in sys.modules)"
    assert run_python(code) == ["True"]


def test_lightning_starts_without_torchvision_and_user_code_still_gets_it_whole() -> None:
    code = """
import inspect, sys
from recipe.deferred_imports import defer_torchvision, defer_unused_imports
defer_unused_imports()
import torchvision as held_early          # a reference taken before anything used it
import pytorch_lightning, torchmetrics
inspect.getmodule(defer_torchvision)      # scans every module's __file__
print('torchvision.ops' in sys.modules)

# What torchmetrics took from the stand-ins still works (the ARNIQA metric's names).
arniqa = sys.modules['torchmetrics.functional.image.arniqa']
print('torchvision.ops' in sys.modules)
from torchvision.transforms import v2     # a submodule import loads the real package
print('torchvision.ops' in sys.modules, type(sys.modules['torchvision']).__name__)
print(arniqa.transforms.Resize is sys.modules['torchvision.transforms'].Resize)
print(type(arniqa.resnet50(weights=None)).__name__)

import torch, torchvision, torchvision.models as models
boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.9]])
print(torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5).tolist())   # C++ operators
print(held_early.models.resnet18 is models.resnet18, held_early.ops is torchvision.ops)
spec = sys.modules['torchvision.transforms.v2'].__spec__
print(type(spec.loader).__name__)          # the module's own spec, not the stand-in's
import timm                                 # imports torchvision itself
print(type(timm.create_model('resnet10t', num_classes=2)).__name__)
print(defer_torchvision())                  # already loaded: nothing to put off
"""
    expected = ["False", "False", "True", "module", "True", "ResNet", "[0]", "True", "True"]
    expected += ["SourceFileLoader", "ResNet", "False"]
    assert run_python(code) == expected


def test_a_model_attribute_read_first_loads_the_real_package() -> None:
    # No submodule import at all: the first use is an attribute of the stand-in.
    code = """
import sys
from recipe.deferred_imports import defer_torchvision
print(defer_torchvision())
import torchvision
net = torchvision.models.mobilenet_v3_small(num_classes=4)
print(type(net).__name__, 'torchvision.ops' in sys.modules)
print(torchvision.models is sys.modules['torchvision.models'])
"""
    assert run_python(code) == ["True", "MobileNetV3", "True", "True"]
