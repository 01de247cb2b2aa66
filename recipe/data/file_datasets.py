"""Datasets read from the user's files into memory: a CSV table, an `.npz` of arrays.

Everything is read into memory (these are the small-data cases the recipe is built
for), then handed to `from_arrays` for the split and normalisation every dataset gets.
Image folders and manifests are read lazily instead: `recipe.data.image_builders`.
Relative paths are resolved against the current directory, which the recipe sets to
the project directory. A mistake in the files raises `DataError` naming the path and
the fix.
"""

from __future__ import annotations

import csv as csv_module
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recipe.data import tables
from recipe.data.bundle import DataBundle, TaskChoice, from_arrays
from recipe.data.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def csv(
    path: str,
    target: str,
    *,
    features: Sequence[str] | None = None,
    task: TaskChoice = "auto",
    val_path: str | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    normalize_target: bool = False,
    categorical: tables.Encoding = "onehot",
) -> DataBundle:
    """A table from a CSV file with a header row: one column is the target.

    Args:
        path: the CSV file (comma, semicolon or tab separated; first row = column names).
        target: the name of the column to predict.
        features: the input columns, in order; default every column except `target`.
            A column of numbers is numeric; one holding any text is categorical. Empty
            cells are missing values. Any of either makes the table go through a fitted
            scikit-learn ColumnTransformer (see `recipe.data.tables`), saved with the run.
        task: `"classification"`, `"regression"`, or `"auto"`: classification when the
            target is not numeric (its values become the class names) or holds whole
            numbers with at most 20 distinct values; regression otherwise.
        val_path: a second CSV with the same columns, used for validation instead of
            splitting `path`.
        val_fraction: share of `path` held out for validation when `val_path` is not given.
        seed: seeds the split.
        normalize: standardise each feature with training statistics.
        normalize_target: regression only; standardise the target too (see `from_arrays`).
        categorical: how text columns are encoded: `onehot` (a column per category) or
            `ordinal` (one number per category).
    """
    train_path = existing_file(path, "csv")
    cells, y, names = _read_csv(train_path, target, features)
    val: tuple[tables.Cells, np.ndarray] | None = None
    if val_path is not None:
        val_cells, val_y, _ = _read_csv(existing_file(val_path, "csv val_path"), target, names)
        val = (val_cells, val_y)
    every = cells.rows + (val[0].rows if val else [])
    kinds = tables.column_kinds(names, every)
    if tables.needs_encoding(kinds, every):
        return tables.encoded_table(
            cells, y, names, kinds, val, task, val_fraction, seed, normalize, normalize_target,
            categorical, str(train_path),
        )  # fmt: skip
    x = np.array(cells.rows, dtype=np.float32)
    x_val = y_val = None
    if val is not None:
        x_val, y_val = np.array(val[0].rows, dtype=np.float32), val[1]
    return from_arrays(
        x,
        y,
        task=task,
        x_val=x_val,
        y_val=y_val,
        feature_names=names,
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        normalize_target=normalize_target,
        source=str(train_path),
    )


def npz(
    path: str,
    *,
    x_key: str = "x",
    y_key: str = "y",
    task: TaskChoice = "auto",
    val_path: str | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    normalize_target: bool = False,
    augment: dict[str, Any] | None = None,
) -> DataBundle:
    """Arrays from a NumPy `.npz` file (as written by `numpy.savez`).

    Args:
        path: the `.npz` file.
        x_key: the array of inputs, shape `(N, ...)`: `(N, F)` features or
            `(N, C, H, W)` images.
        y_key: the array of targets, shape `(N,)` (labels or numbers) or `(N, k)`.
        task: `"classification"`, `"regression"` or `"auto"` (as for `csv`).
        val_path: a second `.npz` with the same keys, used for validation.
        val_fraction: share held out for validation when `val_path` is not given.
        seed: seeds the split and the augmentation.
        normalize: standardise inputs with training statistics (per feature, or per
            channel for images).
        normalize_target: regression only; standardise the targets too.
        augment: image augmentation for `(N, C, H, W)` inputs; see `recipe.data.augment`.
    """
    x, y = _read_npz(existing_file(path, "npz"), x_key, y_key)
    x_val = y_val = None
    if val_path is not None:
        x_val, y_val = _read_npz(existing_file(val_path, "npz val_path"), x_key, y_key)
    return from_arrays(
        x,
        y,
        task=task,
        x_val=x_val,
        y_val=y_val,
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        normalize_target=normalize_target,
        augment=augment,
        source=str(Path(path)),
        preprocess_extra={"x_key": x_key},
    )


def read_image(path: Path, size: tuple[int, int], grayscale: bool) -> np.ndarray:
    """One image as a float32 array `(C, H, W)` with values in [0, 1], resized to `size`.

    How `image_folder` read images before it read them lazily: `predict` still uses it for
    run directories made then (`preprocess.kind: image`).
    """
    from PIL import Image, UnidentifiedImageError

    height, width = size
    try:
        with Image.open(path) as image:
            converted = image.convert("L" if grayscale else "RGB")
            resized = converted.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(resized, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"{path}: cannot read this image ({error}); remove or replace it") from None
    return pixels[None] if grayscale else pixels.transpose(2, 0, 1)


def _read_csv(
    path: Path, target: str, features: Sequence[str] | None
) -> tuple[tables.Cells, np.ndarray, list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        sample = handle.read(8192)
        handle.seek(0)
        dialect = tables.csv_dialect(sample)
        reader = csv_module.reader(handle, dialect)
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise DataError(f"{path}: the file is empty; it needs a header row of column names")
        columns = [h.strip() for h in header]
        rows: list[tuple[int, list[str]]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise DataError(
                    f"{path}:{reader.line_num}: {len(row)} fields but the header has "
                    f"{len(columns)} columns"
                )
            rows.append((reader.line_num, [cell.strip() for cell in row]))
    if target not in columns:
        raise DataError(f"{path}: target column {target!r} not found; available columns: {columns}")
    if features is None:
        names = [c for c in columns if c != target]
    else:
        names = list(features)
        missing = [f for f in names if f not in columns]
        if missing:
            raise DataError(
                f"{path}: feature column(s) {missing} not found; available columns: {columns}"
            )
        if target in names:
            raise DataError(f"{path}: the target column {target!r} is also listed in features")
    if not names:
        raise DataError(f"{path}: no feature columns besides the target {target!r}")
    if not rows:
        raise DataError(f"{path}: the file has a header but no data rows")

    feature_index = [columns.index(n) for n in names]
    target_index = columns.index(target)
    cells = tables.Cells(
        [[row[i] for i in feature_index] for _, row in rows],
        [f"{path}:{line}" for line, _ in rows],
    )
    raw_target = []
    for line, row in rows:
        if row[target_index] == "":
            raise DataError(
                f"{path}:{line}: the target {target!r} is empty; fill it in or drop the row"
            )
        raw_target.append(row[target_index])
    try:
        y: np.ndarray = np.array([float(v) for v in raw_target], dtype=np.float64)
    except ValueError:
        y = np.array(raw_target)
    return cells, y, names


def _read_npz(path: Path, x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            for role, key in (("x_key", x_key), ("y_key", y_key)):
                if key not in keys:
                    raise DataError(
                        f"{path}: no array named {key!r} ({role}); arrays in the file: {keys}; "
                        f"set {role} to one of them"
                    )
            return archive[x_key], archive[y_key]
    except DataError:
        raise
    except (OSError, ValueError) as error:
        raise DataError(
            f"{path}: not a readable .npz file ({error}); write it with numpy.savez"
        ) from None


def existing_file(path: str, setting: str) -> Path:
    """`path` as a Path when it is a file; a DataError naming `setting` and the fix."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        where = resolved if resolved.is_absolute() else Path.cwd() / resolved
        hint = "it is a folder" if resolved.is_dir() else "no such file"
        raise DataError(
            f"{setting}: {where}: {hint}; check the path (relative paths start from the "
            "project directory)"
        )
    return resolved


def existing_folder(path: str, setting: str) -> Path:
    """`path` as a Path when it is a folder; a DataError naming `setting` and the fix."""
    resolved = Path(path).expanduser()
    if not resolved.is_dir():
        where = resolved if resolved.is_absolute() else Path.cwd() / resolved
        raise DataError(
            f"{setting}: {where}: no such folder; check the path (relative paths start from "
            "the project directory)"
        )
    return resolved
