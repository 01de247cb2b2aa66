"""`python -m recipe predict RUN_DIR INPUT...`: the trained model on new inputs, as JSON lines.

Loads the run's own copy of custom.py, then its best checkpoint (last if there is no best),
applies the preprocessing the run recorded in predict.json, runs the model, and hands the
outputs to the postprocess step named in the config (built-in: class names with top-k
probabilities, values, labels above `predict.threshold`, or a mask PNG per image written
to RUN_DIR/predictions/ with its per-class pixel counts). The loading is
`recipe.loaded_run`'s, shared with `export` and the HTTP server, so all three answer alike.
"""

from __future__ import annotations

import json
import sys

from recipe import EXIT_CONFIG_ERROR, EXIT_OK
from recipe.loaded_run import find_checkpoint

__all__ = ["find_checkpoint", "predict"]


def predict(run_dir: str, inputs: list[str], batch_size: int = 256) -> int:
    """Print one JSON object per input sample; returns an exit status."""
    from recipe.deferred_imports import defer_unused_imports

    defer_unused_imports()  # before Lightning's imports, which would load it

    from recipe.data import DataError, load_inputs
    from recipe.loaded_run import RunLoadError, load_run, result_row

    try:
        run = load_run(run_dir)
    except RunLoadError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_CONFIG_ERROR
    try:
        batch, sources = load_inputs(run.preprocess, inputs, run_dir)
    except DataError as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    results = run.results(run.forward(batch, batch_size), sources)
    for source, result in zip(sources, results, strict=True):
        print(json.dumps(result_row(source, result)))
    return EXIT_OK
