"""Data for the recipe: datasets as `DataBundle`s, fast batch loaders, predict inputs.

A config's `data:` section names one of the builders below (or a function in
`custom.py` that returns a `DataBundle`, most simply through `from_arrays`); its keys
are the builder's keyword arguments. Every builder splits train/validation by
`val_fraction` and `seed` (stratified for classification) unless a separate
validation path is given, and standardises inputs with training statistics only.

- `digits`, `iris`, `wine`, `breast_cancer`, `diabetes`: scikit-learn's bundled data.
- `csv`, `npz`: the user's files, in memory.
- `image_folder`, `image_manifest`: image files read lazily by DataLoader workers.
- `make_loader` / `TensorBatchLoader`: batches sliced from in-memory tensors.
- `load_inputs` / `apply_preprocess` / `restore_targets`: the same preprocessing
  applied to raw inputs at predict time.
"""

from recipe.data.augment import AUGMENT_KEYS, ImageAugment
from recipe.data.bundle import (
    DataBundle,
    Task,
    TaskChoice,
    from_arrays,
    resolve_task,
    split_indices,
)
from recipe.data.errors import DataError
from recipe.data.file_datasets import csv, npz, read_image
from recipe.data.image_builders import image_folder, image_manifest
from recipe.data.inputs import apply_preprocess, load_inputs, restore_targets
from recipe.data.loaders import EpochPermutation, TensorBatchLoader, make_loader
from recipe.data.normalization import apply_normalization
from recipe.data.sklearn_datasets import breast_cancer, diabetes, digits, iris, wine

__all__ = [
    "AUGMENT_KEYS",
    "DataBundle",
    "DataError",
    "EpochPermutation",
    "ImageAugment",
    "Task",
    "TaskChoice",
    "TensorBatchLoader",
    "apply_normalization",
    "apply_preprocess",
    "breast_cancer",
    "csv",
    "diabetes",
    "digits",
    "from_arrays",
    "image_folder",
    "image_manifest",
    "iris",
    "load_inputs",
    "make_loader",
    "npz",
    "read_image",
    "resolve_task",
    "restore_targets",
    "split_indices",
    "wine",
]
