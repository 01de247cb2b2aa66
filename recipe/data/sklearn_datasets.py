"""The small datasets that ship inside scikit-learn, so the examples train offline.

Each builder returns a `DataBundle` split by `val_fraction` and `seed` (stratified for
classification) and, with `normalize`, standardised with training statistics.
`digits` reads scikit-learn's bundled file directly when it can (it is the default
dataset), without importing `sklearn.datasets`; the split itself is scikit-learn's
`train_test_split` (recipe.data.bundle.split_indices), whose import costs about 0.6 s.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from recipe.data.bundle import DataBundle, from_arrays


def digits(
    *,
    as_image: bool = False,
    augment: dict[str, Any] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
) -> DataBundle:
    """Handwritten digits 0-9: 1,797 images of 8x8 pixels with values 0-16, 10 classes.

    Args:
        as_image: give each sample as an image `(1, 8, 8)` (for `SmallCNN`,
            `SmallResNet` and `augment`) instead of 64 features.
        augment: image augmentation (needs `as_image: true`), e.g.
            `{crop: 1, noise: 0.05}`; see `recipe.data.augment`.
        val_fraction: share held out for validation, stratified by class.
        seed: seeds the split and the augmentation.
        normalize: standardise with training statistics (per pixel for features, one
            mean and std for the image channel).
    """
    x, y = _read_digits()
    feature_names = [f"pixel_{row}_{col}" for row in range(8) for col in range(8)]
    if as_image:
        x = x.reshape(-1, 1, 8, 8)
    return from_arrays(
        x,
        y,
        task="classification",
        class_names=[str(d) for d in range(10)],
        feature_names=None if as_image else feature_names,
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        augment=augment,
        source="digits",
    )


def iris(*, val_fraction: float = 0.2, seed: int = 0, normalize: bool = True) -> DataBundle:
    """Iris flowers: 150 samples, 4 measurements, 3 species."""
    from sklearn.datasets import load_iris

    return _from_sklearn(load_iris(), "iris", val_fraction, seed, normalize)


def wine(*, val_fraction: float = 0.2, seed: int = 0, normalize: bool = True) -> DataBundle:
    """Wine cultivars: 178 samples, 13 chemical measurements, 3 classes."""
    from sklearn.datasets import load_wine

    return _from_sklearn(load_wine(), "wine", val_fraction, seed, normalize)


def breast_cancer(
    *, val_fraction: float = 0.2, seed: int = 0, normalize: bool = True
) -> DataBundle:
    """Breast cancer diagnosis: 569 samples, 30 features, malignant or benign."""
    from sklearn.datasets import load_breast_cancer

    return _from_sklearn(load_breast_cancer(), "breast_cancer", val_fraction, seed, normalize)


def diabetes(
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    normalize_target: bool = False,
) -> DataBundle:
    """Diabetes progression (regression): 442 patients, 10 features, 1 target (25-346).

    Features are scikit-learn's unscaled ones (`scaled=False`); `normalize` standardises
    them. `normalize_target` standardises the target too, which trains faster; the
    model then predicts standardised values, and `predict` maps them back.
    """
    from sklearn.datasets import load_diabetes

    loaded = load_diabetes(scaled=False)
    return from_arrays(
        loaded.data,
        loaded.target,
        task="regression",
        feature_names=list(loaded.feature_names),
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        normalize_target=normalize_target,
        source="diabetes",
    )


def _from_sklearn(
    loaded: Any, name: str, val_fraction: float, seed: int, normalize: bool
) -> DataBundle:
    return from_arrays(
        loaded.data,
        loaded.target,
        task="classification",
        class_names=[str(c) for c in loaded.target_names],
        feature_names=[str(f) for f in loaded.feature_names],
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        source=name,
    )


def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",", dtype=np.float32)
            return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits  # the file moved: take the public way

    loaded = load_digits()
    return loaded.data.astype(np.float32), loaded.target.astype(np.int64)
