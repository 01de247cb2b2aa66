"""Multi-label image data: each image has any number of labels (none, one, several).

The `multilabel_manifest` builder reads a CSV (`path,labels`, the labels in one cell
separated by spaces, or by `label_separator`) or a JSON-lines file (`{"path": ...,
"labels": ["a", "b"]}`); images are read lazily like `image_manifest`'s
(`recipe.data.image_files`), and the target of an image is a multi-hot float vector, one
entry per class, which is what `BCEWithLogitsLoss` and torchmetrics' multilabel metrics
take. A label outside the class list stops the build naming the file, the line and the
label: a typo in a manifest must not become a silent extra class.
"""

from __future__ import annotations

import csv as csv_module
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recipe.data import tables
from recipe.data.bundle import DataBundle, split_indices
from recipe.data.errors import DataError
from recipe.data.file_datasets import existing_file
from recipe.data.image_builders import Augment, _checked, _preprocessing, check_image_arguments
from recipe.data.image_files import ImageFiles, drop_unreadable
from recipe.vision.preprocessing import ImagePreprocessing

Row = tuple[str, Path, list[str]]  # (file:line, image, labels)


class MultiHotImages(ImageFiles):
    """`ImageFiles` whose target is a multi-hot float vector `(num_classes,)`."""

    def __init__(
        self, paths: Sequence[Path], targets: np.ndarray, transform: Any, **kw: Any
    ) -> None:
        super().__init__(paths, np.zeros(len(paths)), transform, **kw)
        self.targets = np.asarray(targets, dtype=np.float32)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        x, _ = super().__getitem__(key)
        index = key[1] if isinstance(key, tuple) else key
        return x, torch.from_numpy(self.targets[index].copy())


def read_multilabel_rows(
    path: Path, path_key: str, labels_key: str, separator: str | None
) -> list[Row]:
    """Every row of a multi-label manifest, with where it is (`file:line`) for errors."""
    rows: list[Row] = []
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{where}: not JSON ({error.msg})") from None
                if not isinstance(row, dict) or not isinstance(row.get(path_key), str):
                    raise DataError(f"{where}: expected an object with a {path_key!r} string")
                labels = row.get(labels_key, [])
                if isinstance(labels, str):
                    labels = labels.split(separator)
                if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                    raise DataError(f"{where}: {labels_key!r} must be a list of label names")
                rows.append((where, path.parent / row[path_key], labels))
    else:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            dialect = tables.csv_dialect(handle.read(8192))
            handle.seek(0)
            reader = csv_module.DictReader(handle, dialect=dialect)
            reader.fieldnames = [c.strip() for c in reader.fieldnames or []]
            for key, option in ((path_key, "path_column"), (labels_key, "labels_column")):
                if key not in reader.fieldnames:
                    raise DataError(
                        f"{path}: no column {key!r} (columns: {reader.fieldnames}); set {option}"
                    )
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if not (row.get(path_key) or "").strip():
                    raise DataError(f"{where}: {path_key!r} is missing or empty")
                labels = (row.get(labels_key) or "").split(separator)
                rows.append((where, path.parent / row[path_key].strip(), labels))
    if not rows:
        raise DataError(f"{path}: the manifest lists no images")
    for where, file, _ in rows:
        if not file.is_file():
            raise DataError(
                f"{where}: {file}: no such file (paths are relative to the manifest's folder)"
            )
    return [(w, f, [x.strip() for x in labels if x.strip()]) for w, f, labels in rows]


def multi_hot(rows: list[Row], class_names: list[str]) -> np.ndarray:
    """`(N, K)` float32 targets; a label not in `class_names` is an error at its line."""
    lookup = {name: i for i, name in enumerate(class_names)}
    targets = np.zeros((len(rows), len(class_names)), dtype=np.float32)
    for n, (where, _, labels) in enumerate(rows):
        for label in labels:
            if label not in lookup:
                raise DataError(
                    f"{where}: label {label!r} is not in the class list {class_names}; "
                    "fix the label or add it to classes"
                )
            targets[n, lookup[label]] = 1.0
    return targets


@_checked
def multilabel_manifest(
    path: str,
    *,
    classes: Sequence[str] | None = None,
    path_column: str = "path",
    labels_column: str = "labels",
    label_separator: str | None = None,
    val_path: str | None = None,
    size: int | Sequence[int] | None = None,
    grayscale: bool = False,
    augment: Augment = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    preprocessing: ImagePreprocessing | None = None,
) -> DataBundle:
    """Images with several labels each, listed in a CSV or JSON-lines manifest.

    Args:
        path: the manifest; image paths in it are relative to its folder.
        classes: the class list, in output order; default the sorted distinct labels of
            the training manifest. Any other label is an error naming its line.
        path_column, labels_column: the keys of the image path and of its labels.
        label_separator: how labels are separated in one CSV cell; default whitespace.
        val_path: a second manifest for validation instead of a split.
        The other arguments are `image_folder`'s (no mixup / cutmix: they mix one label).
    """
    manifest = existing_file(path, "multilabel_manifest")
    rows = read_multilabel_rows(manifest, path_column, labels_column, label_separator)
    if classes is None:
        class_names = sorted({label for _, _, labels in rows for label in labels})
        if not class_names:
            raise DataError(f"{manifest}: no row has a label; label the images or give classes")
    else:
        class_names = [str(c) for c in classes]
    targets = multi_hot(rows, class_names)
    if augment is not None and not isinstance(augment, list):
        raise DataError("augment: a list of torchvision.transforms.v2 names for this data")
    problems = check_image_arguments({"augment": augment})
    if problems:
        where, message = problems[0]
        raise DataError(f"{'.'.join(map(str, where))}: {message}")
    files, kept = drop_unreadable([f for _, f, _ in rows], list(range(len(rows))), str(manifest))
    targets = targets[kept]
    if val_path is not None:
        val_manifest = existing_file(val_path, "multilabel_manifest val_path")
        val_rows = read_multilabel_rows(val_manifest, path_column, labels_column, label_separator)
        val_targets = multi_hot(val_rows, class_names)
        val_files, val_kept = drop_unreadable(
            [f for _, f, _ in val_rows], list(range(len(val_rows))), str(val_manifest)
        )
        val_targets = val_targets[val_kept]
        train_files, train_targets = files, targets
    else:
        train_idx, val_idx = split_indices(
            len(files), val_fraction=val_fraction, seed=seed, source=str(manifest)
        )
        train_files, train_targets = [files[i] for i in train_idx], targets[train_idx]
        val_files, val_targets = [files[i] for i in val_idx], targets[val_idx]

    from recipe.vision import transforms

    source = str(manifest)
    pre = _preprocessing(preprocessing, size, grayscale, normalize, train_files, seed, source)
    train_tf = transforms.train_transform(pre, augment) if augment else None
    eval_tf = transforms.eval_transform(pre)
    options = {"grayscale": grayscale, "seed": seed}
    return DataBundle(
        train=MultiHotImages(train_files, train_targets, train_tf or eval_tf, **options),
        val=MultiHotImages(val_files, val_targets, eval_tf, **options),
        task="multilabel",
        input_shape=tuple(pre.input_size),
        num_outputs=len(class_names),
        class_names=class_names,
        preprocess={
            "kind": "image_files",  # predict reads images as for classification
            "input_shape": list(pre.input_size),
            "task": "multilabel",
            "class_names": class_names,
            "grayscale": grayscale,
            "image": pre.to_json(),
            "source": source,
        },
    )
