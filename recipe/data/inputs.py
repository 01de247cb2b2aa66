"""Turn raw inputs for `predict` into model-ready tensors, using a run's `preprocess`.

Training saves `DataBundle.preprocess` (plain JSON) with the run; this module reads it
back and applies the very same transformation to new inputs, so a model never sees
data scaled differently from what it was trained on. Accepted inputs, by kind:

- `tabular`: a CSV file with a header containing the feature columns (other columns,
  such as the target, are ignored; one sample per row), or one sample written inline
  as numbers separated by commas or spaces, in the order of `feature_names`.
- `table`: a CSV file with the training columns (text and empty cells as in training),
  encoded by the run's fitted transformer (`preprocess.pkl`, see `recipe.data.tables`).
- `image_files`: an image file, or a folder (every image in it, recursively, sorted),
  through the eval transform training recorded (`preprocess.image`:
  `recipe.vision.transforms.eval_transform`), normalisation included.
- `detection_images`: the same image inputs, as a list of float tensors in [0, 1] each at
  its own size (a detector resizes and normalises itself; its boxes come back in the
  input's pixels): `recipe.data.detection`.
- `image`: the same inputs for runs made when image folders were read into memory.
- `array`: a `.npy` file (one sample, or a stack of samples), an `.npz` file (its
  `x_key` array), or one sample inline as numbers (reshaped to `input_shape`).
"""

from __future__ import annotations

import csv as csv_module
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from recipe.data import tables
from recipe.data.errors import DataError
from recipe.data.file_datasets import IMAGE_EXTENSIONS, read_image
from recipe.data.normalization import apply_normalization


def apply_preprocess(preprocess: dict[str, Any], x: Tensor) -> Tensor:
    """Normalise a raw batch `x` `(B, *input_shape)` exactly as training did."""
    return apply_normalization(
        x.float(), preprocess.get("mean"), preprocess.get("std"), preprocess["normalize_per"]
    )


def restore_targets(preprocess: dict[str, Any], y: Tensor) -> Tensor:
    """Map regression outputs back to target units when the targets were normalised."""
    mean, std = preprocess.get("target_mean"), preprocess.get("target_std")
    if mean is None or std is None:
        return y
    return y * torch.tensor(std, dtype=y.dtype, device=y.device) + torch.tensor(
        mean, dtype=y.dtype, device=y.device
    )


def load_inputs(
    preprocess: dict[str, Any], inputs: Sequence[str], run_dir: str | None = None
) -> tuple[Tensor, list[str]]:
    """Read raw `inputs` (see the module docstring) into one normalised batch.

    `run_dir`: the run whose saved table transformer (`preprocess.pkl`) a `table` applies.

    Returns the batch `(B, *input_shape)` and, for each sample, where it came from
    (a path, `path:line` for a CSV row, or the inline text), to label predictions.
    """
    kind = preprocess["kind"]
    shape = tuple(preprocess["input_shape"])
    samples: list[np.ndarray] = []
    sources: list[str] = []
    if kind == "image_files":
        return _read_image_files(inputs, preprocess)
    if kind == "detection_images":  # a list: each image at its own size
        from recipe.data.detection import read_detection_images

        return read_detection_images(inputs, bool(preprocess["grayscale"]))  # type: ignore[return-value]
    for item in inputs:
        if kind == "image":
            found = _read_images(item, preprocess)
        elif kind == "tabular":
            found = _read_tabular(item, preprocess["feature_names"])
        elif kind == "table":
            found = _read_table(item, preprocess, run_dir or ".")
        elif kind == "array":
            found = _read_arrays(item, shape, preprocess.get("x_key", "x"))
        else:
            raise DataError(f"preprocess: unknown input kind {kind!r}")
        for source, sample in found:
            if sample.shape != shape:
                raise DataError(
                    f"{source}: an input of shape {sample.shape}, but the model takes {shape}"
                )
            samples.append(sample)
            sources.append(source)
    if not samples:
        raise DataError("predict: no inputs found in " + ", ".join(map(str, inputs)))
    batch = torch.from_numpy(np.stack(samples).astype(np.float32))
    return apply_preprocess(preprocess, batch), sources


def _names_a(path: Path, kind: str) -> bool:
    """`path.is_file()` / `is_dir()`, but False for text too long to name a file: inline
    numbers are tried as a path first, and pathlib raises ENAMETOOLONG for 64 of them."""
    try:
        return path.is_file() if kind == "file" else path.is_dir()
    except OSError:
        return False


def _image_paths(item: str) -> list[Path]:
    path = Path(item).expanduser()
    if _names_a(path, "dir"):
        return sorted(
            p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        )
    if _names_a(path, "file"):
        return [path]
    raise DataError(f"{item}: no such image file or folder")


def _read_image_files(
    inputs: Sequence[str], preprocess: dict[str, Any]
) -> tuple[Tensor, list[str]]:
    """Images through the very eval transform validation used (already normalised)."""
    from recipe.data.image_files import ImageFiles
    from recipe.vision.preprocessing import ImagePreprocessing
    from recipe.vision.transforms import eval_transform

    files = [f for item in inputs for f in _image_paths(item)]
    if not files:
        raise DataError("predict: no images found in " + ", ".join(map(str, inputs)))
    transform = eval_transform(ImagePreprocessing.from_json(preprocess["image"]))
    images = ImageFiles(files, np.zeros(len(files)), transform, grayscale=preprocess["grayscale"])
    return torch.stack([images[i][0] for i in range(len(images))]), [str(f) for f in files]


def _read_images(item: str, preprocess: dict[str, Any]) -> list[tuple[str, np.ndarray]]:
    path = Path(item).expanduser()
    size = (int(preprocess["size"][0]), int(preprocess["size"][1]))
    grayscale = bool(preprocess.get("grayscale", False))
    if _names_a(path, "dir"):
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    elif _names_a(path, "file"):
        files = [path]
    else:
        raise DataError(f"{item}: no such image file or folder")
    return [(str(f), read_image(f, size, grayscale)) for f in files]


def _read_tabular(item: str, feature_names: list[str]) -> list[tuple[str, np.ndarray]]:
    path = Path(item).expanduser()
    if path.suffix.lower() in (".csv", ".tsv", ".txt") or _names_a(path, "file"):
        if not _names_a(path, "file"):
            raise DataError(f"{item}: no such file")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            try:
                sample = handle.read(8192)
            except UnicodeDecodeError:
                raise DataError(
                    f"{path}: not a text table; this model takes {len(feature_names)} "
                    f"numbers per sample: give a CSV file with the columns "
                    f"{_shorten(feature_names)}, or the numbers themselves"
                ) from None
            handle.seek(0)
            dialect = tables.csv_dialect(sample)
            reader = csv_module.DictReader(handle, dialect=dialect)
            columns = [c.strip() for c in reader.fieldnames or []]
            reader.fieldnames = columns
            missing = [f for f in feature_names if f not in columns]
            if missing:
                raise DataError(
                    f"{path}: feature column(s) {missing} not found; the model needs "
                    f"{feature_names}"
                )
            rows = []
            for row in reader:
                values = [(row[f] or "").strip() for f in feature_names]
                rows.append((f"{path}:{reader.line_num}", _numbers(values, path, reader.line_num)))
            return rows
    values = item.replace(",", " ").split()
    return [(item, _numbers(values, item, None))]


def _read_table(
    item: str, preprocess: dict[str, Any], run_dir: str
) -> list[tuple[str, np.ndarray]]:
    """Rows of a CSV with the training columns (text, gaps and all), encoded by the run's
    fitted transformer exactly as in training."""
    columns: list[str] = preprocess["columns"]
    path = Path(item).expanduser()
    if not _names_a(path, "file"):
        raise DataError(
            f"{item}: no such file; this model takes rows of a CSV file with the columns "
            f"{_shorten(columns)}"
        )
    with path.open(newline="", encoding="utf-8-sig") as handle:
        sample = handle.read(8192)
        handle.seek(0)
        dialect = tables.csv_dialect(sample)
        reader = csv_module.DictReader(handle, dialect=dialect)
        reader.fieldnames = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in columns if c not in reader.fieldnames]
        if missing:
            raise DataError(f"{path}: column(s) {missing} not found; the model needs {columns}")
        cells, where = [], []
        for row in reader:
            cells.append([(row[c] or "").strip() for c in columns])
            where.append(f"{path}:{reader.line_num}")
    table = tables.as_objects(cells, columns, preprocess["column_kinds"], where)
    encoded = tables.transform(tables.load_transformer(run_dir), table)
    return list(zip(where, encoded, strict=True))


def _shorten(names: list[str], keep: int = 4) -> str:
    """A long list of feature names cut to its first few and its last."""
    if len(names) <= keep + 1:
        return f"[{', '.join(names)}]"
    return f"[{', '.join(names[:keep])}, ..., {names[-1]}] ({len(names)} names)"


def _read_arrays(item: str, shape: tuple[int, ...], x_key: str) -> list[tuple[str, np.ndarray]]:
    path = Path(item).expanduser()
    if path.suffix.lower() in (".npy", ".npz"):
        if not path.is_file():
            raise DataError(f"{item}: no such file")
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as archive:
                if x_key not in archive:
                    raise DataError(
                        f"{path}: no array named {x_key!r}; arrays in the file: "
                        f"{list(archive.keys())}"
                    )
                array = archive[x_key]
        stack = array[None] if array.shape == shape else array
        return [(f"{path}[{i}]", sample) for i, sample in enumerate(stack)]
    values = _numbers(item.replace(",", " ").split(), item, None)
    if values.size != int(np.prod(shape)):
        raise DataError(f"{item!r}: {values.size} numbers, but the model takes {shape}")
    return [(item, values.reshape(shape))]


def _numbers(values: list[str], where: Any, line: int | None) -> np.ndarray:
    try:
        return np.array([float(v) for v in values], dtype=np.float32)
    except ValueError:
        at = f"{where}:{line}" if line is not None else repr(where)
        raise DataError(f"{at}: expected numbers, got {values}") from None
