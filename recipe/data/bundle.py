"""The one shape every dataset takes on its way into training: a `DataBundle`.

Every builder (the scikit-learn datasets, CSV, npz, image folders, and a dataset a user
writes in `custom.py`) ends in `from_arrays`, so splitting, label encoding and
normalisation happen in one place and behave the same way for all of them. The
`preprocess` dictionary a bundle carries is plain JSON: `predict` reads it back from the
run directory to transform raw inputs exactly as training did (see `recipe.data.inputs`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset

from recipe.data.augment import ImageAugment
from recipe.data.errors import DataError
from recipe.data.normalization import apply_normalization, fit_normalization, normalize_per

# multilabel and segmentation come from their own builders (recipe.data.multilabel,
# recipe.data.segmentation), never from `auto`.
Task = Literal["classification", "regression", "multilabel", "segmentation", "detection"]
ArrayTask = Literal["classification", "regression"]  # what arrays and tables can be
TaskChoice = Literal["auto", "classification", "regression"]

# An integer target with at most this many distinct values is read as class labels.
MAX_AUTO_CLASSES = 20


@dataclass(frozen=True)
class DataBundle:
    """Train and validation data plus everything the model and `predict` need to know.

    Datasets are `TensorDataset(x, y)` (images from files: `recipe.data.image_files`,
    read lazily, same items): `x` is float32 with shape `(N, *input_shape)`,
    already normalised; `y` is int64 class indices `(N,)` for classification, float32
    `(N, num_outputs)` for regression, multi-hot float32 `(N, num_outputs)` for multilabel
    (`recipe.data.multilabel`) and int64 masks `(N, H, W)` for segmentation
    (`recipe.data.segmentation`, `num_outputs` classes).
    """

    train: Dataset[Any]
    val: Dataset[Any]
    task: Task
    input_shape: tuple[int, ...]
    num_outputs: int
    class_names: list[str] | None
    preprocess: dict[str, Any]
    # Batch-level augmentation for training inputs only (e.g. `ImageAugment`); it
    # returns a new tensor and never modifies its argument.
    train_transform: Callable[[Tensor], Tensor] | None = field(default=None, compare=False)
    # Batch mixing for training (v2.MixUp / v2.CutMix): (x, y) -> (mixed x, soft y (B, K)).
    batch_mix: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]] | None = field(
        default=None, compare=False
    )
    # A fitted scikit-learn transformer the raw inputs go through first (a CSV with text
    # columns or missing values, recipe.data.tables); train saves it in the run directory.
    fitted_preprocess: Any = field(default=None, compare=False)


def resolve_task(y: np.ndarray, task: str, source: str) -> ArrayTask:
    """Return the task for targets `y`: `task` itself, or a guess when it is `"auto"`.

    The guess is classification when the target is not numeric, or holds whole numbers
    with at most `MAX_AUTO_CLASSES` distinct values each seen twice on average; anything
    else is regression.
    """
    if task == "classification":
        return "classification"
    if task == "regression":
        if not _is_numeric(y):
            raise DataError(
                f"{source}: task is 'regression' but the target is not numeric "
                f"(e.g. {_first_non_number(y)!r}); use task: classification"
            )
        return "regression"
    if task != "auto":
        raise DataError(
            f"{source}: unknown task {task!r}; use 'auto', 'classification' or 'regression'"
        )
    if not _is_numeric(y):
        return "classification"
    values = y.astype(np.float64)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return "regression"
    distinct = len(np.unique(values))
    if distinct <= MAX_AUTO_CLASSES and 2 * distinct <= len(values):
        return "classification"
    return "regression"


def from_arrays(
    x: np.ndarray | Tensor,
    y: np.ndarray | Tensor | Sequence[Any],
    *,
    task: TaskChoice = "auto",
    x_val: np.ndarray | Tensor | None = None,
    y_val: np.ndarray | Tensor | Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    normalize_target: bool = False,
    augment: dict[str, Any] | None = None,
    source: str = "arrays",
    preprocess_extra: dict[str, Any] | None = None,
) -> DataBundle:
    """Build a `DataBundle` from arrays; every built-in dataset ends here.

    Args:
        x: inputs, shape `(N, *input_shape)`; converted to float32.
        y: targets, shape `(N,)` (labels of any type, or numbers) or `(N, k)` for
            regression with `k` outputs.
        task: `"classification"`, `"regression"`, or `"auto"` (see `resolve_task`).
        x_val, y_val: a separate validation set; when given, `val_fraction` is unused.
        class_names: names for integer labels `0..K-1`; by default the sorted distinct
            label values, as strings.
        feature_names: names of the features of 1-D samples (`predict` reads CSV
            inputs by these names); default `x0, x1, ...`.
        val_fraction: share of the data held out for validation when no separate
            validation set is given (stratified by class for classification).
        seed: seeds the split and the augmentation.
        normalize: standardise inputs with statistics of the training split only:
            per feature for 1-D samples, per channel for `(C, H, W)` samples, one mean
            and std otherwise.
        normalize_target: regression only; standardise the targets with training
            statistics (the model then predicts standardised values; `predict` undoes it
            with `preprocess["target_mean"]` and `preprocess["target_std"]`).
        augment: image augmentation settings for `(C, H, W)` samples; see
            `recipe.data.augment.ImageAugment.from_config`.
        source: how error messages name this data (a path, a dataset name).
        preprocess_extra: extra keys for the `preprocess` dictionary (e.g. the image
            size), overriding the defaults.
    """
    x_np = _as_float_inputs(x, source)
    y_np = _as_target_array(y, len(x_np), source)
    has_val = x_val is not None or y_val is not None
    if has_val and (x_val is None or y_val is None):
        raise DataError(f"{source}: give both validation inputs and targets, or neither")
    if has_val:
        x_val_np = _as_float_inputs(x_val, f"{source} (validation)")
        y_val_np = _as_target_array(y_val, len(x_val_np), f"{source} (validation)")
        if x_val_np.shape[1:] != x_np.shape[1:]:
            raise DataError(
                f"{source}: validation samples have shape {tuple(x_val_np.shape[1:])} but "
                f"training samples have {tuple(x_np.shape[1:])}"
            )
        resolved = resolve_task(np.concatenate([y_np, y_val_np]), task, source)
    else:
        resolved = resolve_task(y_np, task, source)

    names: list[str] | None = None
    if resolved == "classification":
        y_targets, names = encode_labels(y_np, class_names, source)
    else:
        y_targets = _regression_targets(y_np, source)

    if has_val:
        val_source = f"{source} (validation)"
        x_train, y_train, x_valid = x_np, y_targets, x_val_np
        if names is not None:
            y_valid = _encode_with(y_val_np, names, class_names, val_source)
        else:
            y_valid = _regression_targets(y_val_np, val_source)
    else:
        train_idx, val_idx = split_indices(
            len(x_np),
            val_fraction=val_fraction,
            seed=seed,
            labels=y_targets if names is not None else None,
            source=source,
        )
        x_train, x_valid = x_np[train_idx], x_np[val_idx]
        y_train, y_valid = y_targets[train_idx], y_targets[val_idx]

    input_shape = tuple(int(d) for d in x_np.shape[1:])
    per = normalize_per(input_shape)
    mean, std = fit_normalization(x_train, per) if normalize else (None, None)
    target_mean: list[float] | None = None
    target_std: list[float] | None = None
    if normalize_target:
        if resolved != "regression":
            raise DataError(f"{source}: normalize_target applies to regression only")
        target_mean, target_std = fit_normalization(y_train, "feature")

    preprocess: dict[str, Any] = {
        "kind": "tabular" if len(input_shape) == 1 else "array",
        "input_shape": list(input_shape),
        "normalize_per": per,
        "mean": mean,
        "std": std,
        "task": resolved,
        "class_names": names,
        "target_mean": target_mean,
        "target_std": target_std,
    }
    if len(input_shape) == 1:
        if feature_names is None:
            feature_names = [f"x{i}" for i in range(input_shape[0])]
        if len(feature_names) != input_shape[0]:
            raise DataError(
                f"{source}: {len(feature_names)} feature names for {input_shape[0]} features"
            )
        preprocess["feature_names"] = list(feature_names)
    preprocess.update(preprocess_extra or {})

    train_transform = None
    if augment:
        if len(input_shape) != 3:
            raise DataError(
                f"{source}: augment works on images shaped (channels, height, width), but "
                f"samples here have shape {input_shape}; remove augment"
                + (" or set as_image: true" if input_shape == (64,) else "")
            )
        train_transform = ImageAugment.from_config(augment, seed=seed)

    def to_tensors(xs: np.ndarray, ys: np.ndarray) -> TensorDataset:
        inputs = torch.from_numpy(np.ascontiguousarray(xs, dtype=np.float32))
        inputs = apply_normalization(inputs, mean, std, per)
        if resolved == "classification":
            return TensorDataset(inputs, torch.from_numpy(ys.astype(np.int64)))
        targets = torch.from_numpy(np.ascontiguousarray(ys, dtype=np.float32))
        return TensorDataset(inputs, apply_normalization(targets, target_mean, target_std))

    return DataBundle(
        train=to_tensors(x_train, y_train),
        val=to_tensors(x_valid, y_valid),
        task=resolved,
        input_shape=input_shape,
        num_outputs=len(names) if names is not None else int(y_targets.shape[1]),
        class_names=names,
        preprocess=preprocess,
        train_transform=train_transform,
    )


def split_indices(
    n: int,
    *,
    val_fraction: float,
    seed: int,
    labels: np.ndarray | None = None,
    source: str = "data",
) -> tuple[np.ndarray, np.ndarray]:
    """Split `range(n)` into sorted train and validation indices, seeded.

    scikit-learn's `train_test_split` does the split (the one users know and compare
    against): with `labels` it is stratified, each class keeping its share in both parts.
    When a class is too rare for that (fewer than two samples, or fewer validation or
    training slots than classes) it falls back to a plain shuffled split and warns.
    """
    from sklearn.model_selection import train_test_split

    if not (
        isinstance(val_fraction, int | float)
        and not isinstance(val_fraction, bool)
        and 0.0 < val_fraction < 1.0
    ):
        raise DataError(
            f"{source}: val_fraction must be between 0 and 1 (exclusive), got {val_fraction!r}"
        )
    n_val = math.ceil(n * val_fraction)
    if n < 2 or n_val >= n:
        raise DataError(
            f"{source}: {n} samples are too few to hold out val_fraction={val_fraction}; "
            "add data or give a separate validation set with val_path"
        )
    stratify = None
    if labels is not None:
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() >= 2 and len(classes) <= n_val <= n - len(classes):
            stratify = labels
        else:
            warnings.warn(
                f"{source}: some classes are too rare to stratify the split "
                f"(smallest class has {counts.min()} samples); splitting without stratification",
                stacklevel=2,
            )
    train_idx, val_idx = train_test_split(
        np.arange(n), test_size=n_val, random_state=seed, shuffle=True, stratify=stratify
    )
    return np.sort(train_idx), np.sort(val_idx)


def encode_labels(
    y: np.ndarray, class_names: Sequence[str] | None, source: str
) -> tuple[np.ndarray, list[str]]:
    """Map labels to class indices `0..K-1`; return the indices and the class names.

    With `class_names`, labels must already be integers in `range(len(class_names))`.
    Otherwise the classes are the sorted distinct labels (numerically when they are
    numbers), named by their string form.
    """
    if class_names is not None:
        names = [str(c) for c in class_names]
        return _encode_with(y, names, class_names, source), names
    if _is_numeric(y):
        values = y.astype(np.float64)
        distinct = np.unique(values)
        names = [_number_name(v) for v in distinct]
        return np.searchsorted(distinct, values).astype(np.int64), names
    strings = np.array([str(v) for v in y])
    distinct_str = np.unique(strings)
    return np.searchsorted(distinct_str, strings).astype(np.int64), [str(s) for s in distinct_str]


def _encode_with(
    y: np.ndarray, names: list[str], given_names: Sequence[str] | None, source: str
) -> np.ndarray:
    if given_names is not None:
        if not _is_numeric(y) or not np.all(y.astype(np.float64) % 1 == 0):
            raise DataError(f"{source}: with class_names given, labels must be class indices")
        indices = y.astype(np.int64)
        bad = indices[(indices < 0) | (indices >= len(names))]
        if len(bad):
            raise DataError(
                f"{source}: label {int(bad[0])} is not a class index for {len(names)} class names"
            )
        return indices
    as_names = [_number_name(float(v)) for v in y] if _is_numeric(y) else [str(v) for v in y]
    lookup = {name: i for i, name in enumerate(names)}
    unknown = sorted({name for name in as_names if name not in lookup})
    if unknown:
        raise DataError(
            f"{source}: classes {unknown} do not occur in the training data "
            f"(training classes: {names})"
        )
    return np.array([lookup[name] for name in as_names], dtype=np.int64)


def _as_float_inputs(x: Any, source: str) -> np.ndarray:
    array = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if array.ndim < 2:
        raise DataError(
            f"{source}: inputs need shape (samples, features...) but have shape {array.shape}"
        )
    if len(array) == 0:
        raise DataError(f"{source}: there are no samples")
    try:
        result = array.astype(np.float32)
    except (TypeError, ValueError) as error:
        raise DataError(f"{source}: inputs are not numeric ({error})") from None
    if not np.all(np.isfinite(result)):
        raise DataError(f"{source}: inputs contain NaN or infinite values")
    return result


def _as_target_array(y: Any, n: int, source: str) -> np.ndarray:
    array = y.detach().cpu().numpy() if isinstance(y, Tensor) else np.asarray(y)
    if array.ndim == 0 or len(array) != n:
        raise DataError(
            f"{source}: {n} input samples but targets have shape {array.shape}; "
            "inputs and targets must have the same number of samples"
        )
    return array


def _regression_targets(y: np.ndarray, source: str) -> np.ndarray:
    if y.ndim > 2:
        raise DataError(f"{source}: regression targets need shape (N,) or (N, k), not {y.shape}")
    try:
        values = y.astype(np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{source}: regression targets must be numbers") from None
    return values.reshape(len(values), -1)


def _is_numeric(y: np.ndarray) -> bool:
    if y.dtype.kind in "biuf":
        return True
    if y.dtype.kind not in "OUS":
        return False
    try:
        y.astype(np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _first_non_number(y: np.ndarray) -> Any:
    for value in y.ravel():
        try:
            float(value)
        except (TypeError, ValueError):
            return value
    return None


def _number_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
