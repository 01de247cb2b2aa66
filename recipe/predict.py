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
import os
import sys

from recipe import EXIT_CONFIG_ERROR, EXIT_OK
from recipe.loaded_run import find_checkpoint

__all__ = ["find_checkpoint", "predict"]


def predict(run_dir: str, inputs: list[str], batch_size: int = 256, draw: str | None = None) -> int:
    """Print one JSON object per input sample; returns an exit status. `draw`: a folder
    to write each image input into with its prediction drawn (recipe.drawing)."""
    from recipe.deferred_imports import defer_unused_imports

    defer_unused_imports()  # before Lightning's imports, which would load it

    from recipe.data import DataError, load_inputs
    from recipe.loaded_run import RunLoadError, load_run, result_row

    if draw is not None and os.path.exists(draw) and not os.path.isdir(draw):
        print(f"predict: --draw {draw} is a file; name a folder (it is created)", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    try:
        run = load_run(run_dir)
    except RunLoadError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_CONFIG_ERROR
    if draw is not None and run.preprocess["kind"] not in ("image_files", "image"):
        print(
            f"predict: --draw needs image inputs, and {run_dir} reads "
            f"{run.preprocess['kind']} inputs; leave --draw out",
            file=sys.stderr,
        )
        return EXIT_CONFIG_ERROR
    try:
        batch, sources = load_inputs(run.preprocess, inputs, run_dir)
    except DataError as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    results = run.results(run.forward(batch, batch_size), sources)
    rows = [result_row(source, result) for source, result in zip(sources, results, strict=True)]
    for row in rows:
        print(json.dumps(row))
    if draw is not None:
        from recipe.drawing import draw_row, open_image, save_png, unique_png_names

        names = run.info.get("class_names")
        for name, row in zip(unique_png_names(sources), rows, strict=True):
            picture = draw_row(run.task, open_image(row["input"]), row, names)
            save_png(picture, os.path.join(draw, name))
        print(f"predict: drew {len(rows)} images into {draw}", file=sys.stderr)
    return EXIT_OK
