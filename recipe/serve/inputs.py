"""Request payloads to model-ready tensors, through the very code `recipe predict` uses.

Each sample goes through `recipe.data.load_inputs` with the run's recorded preprocessing,
as the command line would read it: named columns and table rows as a one-row CSV, images
as files in a private temporary folder. So the server cannot drift from `predict`: the
same parsing, the same shape checks, the same transforms (lists of numbers skip only the
parsing of text: checked against the input shape and normalised by `apply_preprocess`, as
inline numbers are). Each sample is read on its own, so a problem names its field
(`inputs[2]`, `images[0].data`, `files[1]`) and is answered 422, never 500.
"""

from __future__ import annotations

import base64
import binascii
import csv
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from recipe.data import DataError, load_inputs
from recipe.data.inputs import apply_preprocess

IMAGE_KINDS = ("image_files", "image", "detection_images")
NUMBER_KINDS = ("tabular", "array")
NAMED_KINDS = ("tabular", "table")


class InputError(Exception):
    """A client's input that does not fit the model; `field` names where it is."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _one(preprocess: dict[str, Any], item: str, run_dir: str, field: str) -> Tensor:
    try:
        batch, _ = load_inputs(preprocess, [item], run_dir)
    except DataError as exc:
        message = str(exc).replace(repr(item), field).replace(item, field)
        raise InputError(field, message.removeprefix(f"{field}: ")) from None
    except (ValueError, OSError, TypeError) as exc:  # a decoder's own complaint
        raise InputError(field, f"cannot be read ({exc})") from None
    if len(batch) != 1:
        raise InputError(field, f"holds {len(batch)} samples; give one per entry")
    return batch


def numbers_batch(
    preprocess: dict[str, Any], rows: Sequence[Sequence[float]], run_dir: str
) -> Tensor:
    """`inputs`: one list of numbers per sample (features in order, or a flat array),
    checked and normalised as `load_inputs` does inline numbers."""
    if preprocess["kind"] not in NUMBER_KINDS:
        raise InputError("inputs", _wrong_field(preprocess))
    shape = tuple(int(n) for n in preprocess["input_shape"])
    samples = []
    for index, row in enumerate(rows):
        field = f"inputs[{index}]"
        sample = np.asarray(row, dtype=np.float32)
        if preprocess["kind"] == "array" and sample.size == math.prod(shape):
            sample = sample.reshape(shape)
        if sample.shape != shape:
            raise InputError(field, f"{sample.size} numbers, but the model takes {shape}")
        samples.append(sample)
    return apply_preprocess(preprocess, torch.from_numpy(np.stack(samples)))


def rows_batch(
    preprocess: dict[str, Any], rows: Sequence[dict[str, Any]], run_dir: str, scratch: str
) -> Tensor:
    """`rows`: one object per sample, column name to value (tabular features, table cells)."""
    kind = preprocess["kind"]
    if kind not in NAMED_KINDS:
        raise InputError("rows", _wrong_field(preprocess))
    columns: list[str] = preprocess["feature_names" if kind == "tabular" else "columns"]
    samples = []
    for index, row in enumerate(rows):
        field = f"rows[{index}]"
        missing = [c for c in columns if c not in row]
        if missing:
            raise InputError(field, f"missing column(s) {missing}; the model needs {columns}")
        path = os.path.join(scratch, f"row{index}.csv")
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerow(["" if row[c] is None else row[c] for c in columns])
        samples.append(_one(preprocess, path, run_dir, field))
    if preprocess["kind"] == "detection_images":  # a list: each image at its own size
        return [image for sample in samples for image in sample]  # type: ignore[return-value]
    return torch.cat(samples)


def images_batch(
    preprocess: dict[str, Any],
    images: Sequence[tuple[str, str | None, bytes | str]],
    run_dir: str,
    scratch: str,
) -> Tensor:
    """Images as `(field, file name or None, bytes or base64 text)`, each read as a file."""
    if preprocess["kind"] not in IMAGE_KINDS:
        raise InputError(images[0][0] if images else "images", _wrong_field(preprocess))
    samples = []
    for index, (field, name, content) in enumerate(images):
        if isinstance(content, str):
            try:
                content = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise InputError(f"{field}.data", "not valid base64") from None
            field = f"{field}.data"
        if not content:
            raise InputError(field, "an empty image")
        suffix = Path(name or "").suffix.lower() or ".img"
        path = os.path.join(scratch, f"image{index}{suffix if suffix.isascii() else '.img'}")
        with open(path, "wb") as handle:
            handle.write(content)
        samples.append(_one(preprocess, path, run_dir, field))
    if preprocess["kind"] == "detection_images":  # a list: each image at its own size
        return [image for sample in samples for image in sample]  # type: ignore[return-value]
    return torch.cat(samples)


def _wrong_field(preprocess: dict[str, Any]) -> str:
    return f"this model does not take it; it takes {expected_input(preprocess)}"


def expected_input(preprocess: dict[str, Any]) -> str:
    """What a request for this model carries, in words (for errors and /metadata)."""
    kind = preprocess["kind"]
    if kind in IMAGE_KINDS:
        return "images: base64 `images` in JSON, or multipart `files`"
    if kind == "table":
        return f"`rows`: objects with the columns {preprocess['columns']}"
    if kind == "tabular":
        return (
            f"`inputs`: lists of {len(preprocess['feature_names'])} numbers, or `rows`: "
            f"objects with the columns {preprocess['feature_names']}"
        )
    shape = list(preprocess["input_shape"])
    return f"`inputs`: lists of numbers, {shape} flattened"


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """A private folder for one request's files (removed when the request is answered)."""
    return tempfile.TemporaryDirectory(prefix="autotrain-serve-")
