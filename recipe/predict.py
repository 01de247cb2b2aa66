"""`python -m recipe predict RUN_DIR INPUT...`: the trained model on new inputs, as JSON lines.

Loads the run's own copy of custom.py, then its best checkpoint (last if there is no best),
applies the preprocessing the run recorded in predict.json, runs the model, and hands the
outputs to the postprocess step named in the config (built-in: class names with top-k
probabilities, values, labels above `predict.threshold`, or a mask PNG per image written
to RUN_DIR/predictions/ with its per-class pixel counts).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from recipe import EXIT_CONFIG_ERROR, EXIT_OK
from recipe.code_snapshot import use_run_code
from recipe.config import ConfigError
from recipe.missing_files import MissingFileError
from recipe.run_dir import BEST_CHECKPOINT, CHECKPOINT_DIR, LAST_CHECKPOINT, PREDICT_FILE

AUTO_POSTPROCESS = {
    "classification": "topk",
    "regression": "values",
    "multilabel": "labels",
    "segmentation": "mask",
}
PREDICTIONS_DIR = "predictions"  # segmentation's mask PNGs, in the run directory


def find_checkpoint(run_dir: str) -> str | None:
    for name in (BEST_CHECKPOINT, LAST_CHECKPOINT):
        path = os.path.join(run_dir, CHECKPOINT_DIR, name)
        if os.path.exists(path):
            return path
    return None


def predict(run_dir: str, inputs: list[str], batch_size: int = 256) -> int:
    """Print one JSON object per input sample; returns an exit status."""
    from recipe.deferred_imports import defer_unused_imports

    defer_unused_imports()  # before Lightning's imports, which would load it
    import torch

    from recipe.data import DataError, load_inputs, restore_targets
    from recipe.module import RecipeModule
    from recipe.registry import instantiate, load_custom

    info_path = os.path.join(run_dir, PREDICT_FILE)
    checkpoint = find_checkpoint(run_dir)
    if not os.path.exists(info_path) or checkpoint is None:
        print(
            f"{run_dir}: no trained model here (needs {PREDICT_FILE} and "
            f"{CHECKPOINT_DIR}/{BEST_CHECKPOINT} or {LAST_CHECKPOINT}); train it first",
            file=sys.stderr,
        )
        return EXIT_CONFIG_ERROR
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
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG_ERROR

    from recipe.vision.weights import from_checkpoint

    try:
        with from_checkpoint():  # pretrained weights: the checkpoint has them all
            module = RecipeModule.load_from_checkpoint(checkpoint, map_location="cpu")
    except MissingFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG_ERROR
    module.eval()
    try:
        batch, sources = load_inputs(info["preprocess"], inputs, run_dir)
    except DataError as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR

    postprocess = config["predict"]["postprocess"]
    if postprocess == "auto":
        postprocess = AUTO_POSTPROCESS.get(info["task"], "values")
    top_k = int(config["predict"]["top_k"])
    with torch.inference_mode():
        outputs = torch.cat([module(chunk) for chunk in batch.split(batch_size)])
    if info["task"] == "regression":
        outputs = restore_targets(info["preprocess"], outputs)
    results = instantiate(
        postprocess,
        "postprocess",
        outputs,
        class_names=info.get("class_names"),
        top_k=top_k,
        threshold=float(config["predict"].get("threshold", 0.5)),
        sources=sources,
        out_dir=os.path.join(run_dir, PREDICTIONS_DIR),
    )
    for source, result in zip(sources, results, strict=True):
        row = (
            {"input": source, **result}
            if isinstance(result, dict)
            else {
                "input": source,
                "prediction": result,
            }
        )
        print(json.dumps(row))
    return EXIT_OK
