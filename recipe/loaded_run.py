"""A trained run loaded for inference: the one path `predict`, `export` and `serve` share.

Loading a run means: its own copy of custom.py (the code it was trained with), the chosen
checkpoint (best, else last), the model rebuilt without pretrained weights (the checkpoint
holds every parameter) and put in eval mode, and the preprocessing `predict.json` recorded.
Turning model outputs into results (regression targets back to their units, then the
configured postprocess step) lives here too, so the server answers exactly what `predict`
prints.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from recipe.code_snapshot import use_run_code
from recipe.config import ConfigError
from recipe.missing_files import MissingFileError
from recipe.run_dir import BEST_CHECKPOINT, CHECKPOINT_DIR, LAST_CHECKPOINT, PREDICT_FILE

CHECKPOINT_CHOICES = ("auto", "best", "last")


class RunLoadError(Exception):
    """A run that cannot be loaded for inference; `lines` are printed one per line."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


def find_checkpoint(run_dir: str, which: str = "auto") -> str | None:
    """The checkpoint file to load: `best`, `last`, or `auto` (best, else last)."""
    names = {"auto": (BEST_CHECKPOINT, LAST_CHECKPOINT), "best": (BEST_CHECKPOINT,)}
    for name in names.get(which, (LAST_CHECKPOINT,)):
        path = os.path.join(run_dir, CHECKPOINT_DIR, name)
        if os.path.exists(path):
            return path
    return None


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# The postprocess step `predict.postprocess: auto` means for each task.
AUTO_POSTPROCESS = {
    "classification": "topk",
    "regression": "values",
    "multilabel": "labels",
    "segmentation": "mask",
    "detection": "boxes",
}
PREDICTIONS_DIR = "predictions"  # segmentation's mask PNGs, in the run directory


@dataclass
class LoadedRun:
    """A run's model in eval mode with what is needed to read inputs and write results."""

    run_dir: str
    module: Any  # recipe.module.RecipeModule
    info: dict[str, Any]  # predict.json: task, class_names, preprocess, …
    config: dict[str, Any]  # the resolved config the checkpoint carries
    checkpoint: str

    @property
    def model(self) -> nn.Module:
        """The bare network (what an export writes): `module(x)` is `model(x)`."""
        model: nn.Module = self.module.model
        return model

    @property
    def task(self) -> str:
        return str(self.info["task"])

    @property
    def preprocess(self) -> dict[str, Any]:
        return dict(self.info["preprocess"])

    def forward(self, batch: Any, batch_size: int = 256) -> Any:
        """Model outputs for a preprocessed batch, in chunks of `batch_size`. Detection: a
        list of images (each its own size) in, a list of `{boxes, scores, labels}` out."""
        with torch.inference_mode():
            if isinstance(batch, list):
                step = max(1, min(batch_size, 16))  # images of any size: a few at a time
                return [
                    o for i in range(0, len(batch), step) for o in self.module(batch[i : i + step])
                ]
            return torch.cat([self.module(chunk) for chunk in batch.split(batch_size)])

    def results(self, outputs: Any, sources: list[str] | None = None) -> list[Any]:
        """One result per row, as the configured postprocess step writes it. `sources` names
        each row (a file path, `row 3`): a step that writes files (segmentation's mask PNGs,
        into RUN_DIR/predictions/) names them after it."""
        from recipe.data import restore_targets
        from recipe.registry import instantiate

        postprocess = self.config["predict"]["postprocess"]
        if postprocess == "auto":
            postprocess = AUTO_POSTPROCESS.get(self.task, "values")
        if self.task == "regression":
            outputs = restore_targets(self.preprocess, outputs)
        if sources is None:
            sources = [f"input-{i}" for i in range(len(outputs))]
        results: list[Any] = instantiate(
            postprocess,
            "postprocess",
            outputs,
            class_names=self.info.get("class_names"),
            top_k=int(self.config["predict"]["top_k"]),
            threshold=float(self.config["predict"].get("threshold", 0.5)),
            sources=sources,
            out_dir=os.path.join(self.run_dir, PREDICTIONS_DIR),
        )
        return results


def result_row(source: str, result: Any) -> dict[str, Any]:
    """One line of `predict`'s output: the input it came from and its result."""
    if isinstance(result, dict):
        return {"input": source, **result}
    return {"input": source, "prediction": result}


def load_run(run_dir: str, which: str = "auto") -> LoadedRun:
    """Load `run_dir` for inference; RunLoadError says what is missing and what to do."""
    from recipe.module import RecipeModule
    from recipe.registry import load_custom
    from recipe.vision.weights import from_checkpoint

    info_path = os.path.join(run_dir, PREDICT_FILE)
    checkpoint = find_checkpoint(run_dir, which)
    if not os.path.exists(info_path) or checkpoint is None:
        wanted = {"best": BEST_CHECKPOINT, "last": LAST_CHECKPOINT}.get(
            which, f"{BEST_CHECKPOINT} or {LAST_CHECKPOINT}"
        )
        raise RunLoadError(
            f"{run_dir}: no trained model here (needs {PREDICT_FILE} and "
            f"{CHECKPOINT_DIR}/{wanted}); train it first"
        )
    with open(info_path, encoding="utf-8") as handle:
        info: dict[str, Any] = json.load(handle)

    payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = payload["hyper_parameters"]["config"]
    # The run's own copy of custom.py (the code it was trained with), from any directory;
    # a run made before runs kept one falls back to the project's, here.
    custom = use_run_code(run_dir)
    if custom is None:
        custom = os.path.join(os.getcwd(), config["project"].get("custom") or "custom.py")
    try:
        load_custom(custom, os.path.relpath(custom))
    except ConfigError as exc:
        raise RunLoadError(*map(str, exc.problems)) from None
    try:
        with from_checkpoint():  # pretrained weights: the checkpoint has them all
            module = RecipeModule.load_from_checkpoint(checkpoint, map_location="cpu")
    except MissingFileError as exc:
        raise RunLoadError(str(exc)) from None
    module.eval()
    return LoadedRun(run_dir, module, info, config, checkpoint)
