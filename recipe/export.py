"""`python -m recipe export RUN --format onnx|torchscript`: a run's model as one file,
verified before it is kept.

The model is the run's network alone (`RecipeModule.model`, what `predict` calls), with a
dynamic batch dimension; beside it `<model file>.preprocess.json` holds what a caller must do
around it (the run's recorded preprocessing, class names, postprocess, input shape).

ONNX goes through torch.onnx's dynamo exporter (`torch.export`, translated by onnxscript):
it is torch's default and maintained path (the TorchScript-based exporter is deprecated),
and `torch.export` refuses what it cannot capture faithfully (data-dependent branches)
instead of silently baking one branch in. TorchScript is `torch.jit.trace`, which works for
the timm and torchvision models where `torch.jit.script` does not.

Verification, at once: the exported file is loaded back (onnxruntime for ONNX,
`torch.jit.load` for TorchScript) and run on a few real inputs (the first validation
samples of the run's own data, built as training built them; seeded random inputs of the
right shape when that data is not readable from here), at batch size 1 and at full batch,
and compared with the PyTorch outputs within ATOL + RTOL x |expected|. A difference fails
the command (exit 1, the largest difference named) and nothing is left at the output path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from recipe import EXIT_CONFIG_ERROR, EXIT_OK
from recipe.io import atomic_write_bytes
from recipe.loaded_run import LoadedRun, RunLoadError, file_sha256, load_run

EXIT_VERIFY_FAILED = 1
ATOL = 1e-4
RTOL = 1e-3
SAMPLES = 8
FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
INPUT_NAME, OUTPUT_NAME = "input", "output"


class ExportError(Exception):
    """The model cannot be written in the format asked for; the message says which part."""


def default_output(run_dir: str, fmt: str) -> str:
    return os.path.join(run_dir, "export", "model" + FORMATS[fmt])


def spec_path(model_path: str) -> str:
    """Where the preprocessing spec lies beside an exported model."""
    return model_path + ".preprocess.json"


def sample_inputs(run: LoadedRun, count: int = SAMPLES) -> tuple[Tensor, str]:
    """A few preprocessed inputs and where they came from (for the report)."""
    from recipe.data import DataError
    from recipe.registry import data_injections, instantiate

    try:
        bundle = instantiate(run.config["data"], "data", **data_injections(run.config))
        n = min(count, len(bundle.val))
        batch = torch.stack([bundle.val[i][0] for i in range(n)]).float()
        if n >= 2:
            return batch, f"{n} validation samples of the run's data"
        reason = "fewer than 2 validation samples"
    except (DataError, OSError, ValueError, KeyError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    generator = torch.Generator().manual_seed(0)
    shape = tuple(run.info["preprocess"]["input_shape"])
    batch = torch.randn((count, *shape), generator=generator)
    return batch, f"{count} random inputs (the run's data is not readable here: {reason})"


def _export_onnx(model: nn.Module, example: Tensor, path: str) -> None:
    from torch.export import Dim

    torch.onnx.export(
        model,
        (example,),
        path,
        dynamo=True,
        external_data=False,  # one self-contained file (models under 2 GB)
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes=({0: Dim("batch")},),
        verbose=False,
    )


def _export_torchscript(model: nn.Module, example: Tensor, path: str) -> None:
    with _no_deprecation_notes():
        traced = torch.jit.trace(model, (example,), check_trace=False)
        torch.jit.save(traced, path)


@contextlib.contextmanager
def _no_deprecation_notes() -> Any:
    """torch 2.9+ marks TorchScript deprecated on every call; asked for, it is meant."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
        yield


def _runner(fmt: str, path: str) -> Callable[[Tensor], np.ndarray]:
    """The exported file loaded back, as a function of a batch."""
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return lambda x: np.asarray(session.run(None, {INPUT_NAME: x.numpy()})[0])
    with _no_deprecation_notes():
        loaded = torch.jit.load(path, map_location="cpu")
    loaded.eval()

    def run(x: Tensor) -> np.ndarray:
        with torch.inference_mode():
            return np.asarray(loaded(x).numpy())

    return run


EXPORTERS: dict[str, Callable[[nn.Module, Tensor, str], None]] = {
    "onnx": _export_onnx,
    "torchscript": _export_torchscript,
}


def _first_line(exc: BaseException) -> str:
    """The root cause's type and first line (torch.onnx wraps torch.export's error in a
    generic "step 1/3" message; the cause says what was wrong)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def culprit(model: nn.Module, example: Tensor, fmt: str) -> tuple[str, BaseException] | None:
    """The deepest submodule that fails to export on its own (its dotted name and error).

    Each submodule's inputs are recorded during one eager forward; a child taking plain
    tensors is exported alone, and the search descends into the first one that fails.
    """
    seen: dict[nn.Module, tuple[Any, ...]] = {}

    def record(module: nn.Module, args: tuple[Any, ...]) -> None:
        if module not in seen and args and all(isinstance(a, Tensor) for a in args):
            seen[module] = tuple(a.detach() for a in args)

    hooks = [m.register_forward_pre_hook(record) for m in model.modules()]
    try:
        with torch.inference_mode():
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
    found: tuple[str, BaseException] | None = None
    parent, prefix = model, ""
    with tempfile.TemporaryDirectory() as scratch:
        target = os.path.join(scratch, "part" + FORMATS[fmt])
        while True:
            for name, child in parent.named_children():
                if child not in seen or len(seen[child]) != 1:
                    continue
                try:
                    with _quiet():
                        EXPORTERS[fmt](child, seen[child][0].clone(), target)
                except Exception as exc:  # any exporter failure localises the problem
                    prefix = f"{prefix}.{name}" if prefix else name
                    found, parent = (prefix, exc), child
                    break
            else:
                return found


@contextlib.contextmanager
def _quiet() -> Any:
    """The exporters' progress chatter and warnings off the terminal (the report is ours to
    print, one line)."""
    torch_log = logging.getLogger("torch")
    level = torch_log.level
    torch_log.setLevel(logging.ERROR)
    try:
        with (
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stdout(devnull),
            contextlib.redirect_stderr(devnull),
        ):
            yield
    finally:
        torch_log.setLevel(level)


def compare(expected: np.ndarray, actual: np.ndarray) -> float:
    """The largest absolute difference; inf when the shapes differ."""
    if expected.shape != actual.shape:
        return float("inf")
    return float(np.max(np.abs(expected.astype(np.float64) - actual.astype(np.float64))))


def within_tolerance(expected: np.ndarray, actual: np.ndarray) -> bool:
    return expected.shape == actual.shape and bool(
        np.allclose(actual, expected, atol=ATOL, rtol=RTOL)
    )


def export(run_dir: str, fmt: str, which: str = "auto", out: str | None = None) -> int:
    """Write, verify and keep (or refuse) the export; returns an exit status."""
    from recipe.deferred_imports import defer_unused_imports

    defer_unused_imports()
    try:
        run = load_run(run_dir, which)
    except RunLoadError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if run.task == "detection":  # refused up front rather than half-captured
        print(
            f"export: {run_dir}: a detector is not exported (it takes a list of images of any "
            "size and returns a list of boxes per image, which export does not capture "
            "cleanly); use `recipe predict` on the run",
            file=sys.stderr,
        )
        return EXIT_CONFIG_ERROR
    path = out or default_output(run_dir, fmt)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    model = run.model.float().eval()
    inputs, origin = sample_inputs(run)
    with torch.inference_mode():
        expected = model(inputs).float().numpy()
    scratch = f"{path}.partial{os.getpid()}"
    try:
        try:
            with _quiet():
                EXPORTERS[fmt](model, inputs[:2].clone(), scratch)
        except Exception as exc:  # the exporters raise many kinds; all mean "cannot"
            where = culprit(model, inputs[:2].clone(), fmt)
            part = (
                f"its part {where[0]} ({type(run.model.get_submodule(where[0])).__name__}): "
                f"{_first_line(where[1])}"
                if where
                else _first_line(exc)
            )
            print(
                f"export: {run_dir}: the model ({type(model).__name__}) cannot be exported "
                f"to {fmt}: {part}",
                file=sys.stderr,
            )
            return EXIT_VERIFY_FAILED
        runner = _runner(fmt, scratch)
        worst = 0.0
        ok = True
        for batch in (inputs[:1], inputs):
            actual = runner(batch.clone())
            reference = expected[: len(batch)]
            worst = max(worst, compare(reference, actual))
            ok = ok and within_tolerance(reference, actual)
        if not ok:
            print(
                f"export: {run_dir}: the {fmt} model's outputs differ from PyTorch's on "
                f"{origin}: max |difference| {worst:.3g} (allowed: {ATOL:g} + {RTOL:g} x "
                f"|expected|); nothing was written to {path}",
                file=sys.stderr,
            )
            return EXIT_VERIFY_FAILED
        os.replace(scratch, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(scratch)
    spec = {
        "format": fmt,
        "model_file": os.path.basename(path),
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_shape": ["batch", *run.info["preprocess"]["input_shape"]],
        "dtype": "float32",
        "task": run.task,
        "class_names": run.info.get("class_names"),
        "postprocess": run.config["predict"]["postprocess"],
        "top_k": run.config["predict"]["top_k"],
        "preprocess": run.info["preprocess"],
        "run_dir": os.path.abspath(run_dir),
        "checkpoint": os.path.basename(run.checkpoint),
        "checkpoint_sha256": file_sha256(run.checkpoint),
        "verified": {
            "inputs": origin,
            "batch_sizes": [1, len(inputs)],
            "max_abs_difference": worst,
            "atol": ATOL,
            "rtol": RTOL,
        },
    }
    atomic_write_bytes(spec_path(path), (json.dumps(spec, indent=2) + "\n").encode())
    print(
        f"exported {fmt}: {path} (+ {os.path.basename(spec_path(path))}); verified on "
        f"{origin} at batch sizes 1 and {len(inputs)}: max |difference| {worst:.3g} "
        f"(atol {ATOL:g}, rtol {RTOL:g})"
    )
    return EXIT_OK
