"""The data builders for image files: `image_folder` and `image_manifest`.

Both read lazily (`recipe.data.image_files`), split train / validation stratified by
class unless a validation set is given, take the preprocessing of the model when it names
one, and build the per-sample transforms from the config (`recipe.vision.transforms`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from recipe.data.augment import ImageAugment
from recipe.data.bundle import DataBundle, encode_labels, split_indices
from recipe.data.errors import DataError
from recipe.data.file_datasets import existing_file, existing_folder
from recipe.data.image_files import (
    STATS_SAMPLE,
    ImageFiles,
    drop_unreadable,
    read_manifest,
    scan_folder,
)
from recipe.vision.preprocessing import ImagePreprocessing

F = TypeVar("F", bound=Callable[..., Any])
Augment = list[Any] | dict[str, Any] | None


def check_image_arguments(kwargs: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems in an image builder's `augment`, `mixup` and `cutmix`, each at its path
    below the data section (the full check, `recipe check`, reports them at their lines)."""
    from recipe.vision.transforms import augment_problems, mixing_problems

    problems: list[tuple[tuple[str | int, ...], str]] = []
    augment = kwargs.get("augment")
    if isinstance(augment, list):
        problems += [(("augment", *p), m) for p, m in augment_problems(augment)]
    for key in ("mixup", "cutmix"):
        problems += [((key, *p), m) for p, m in mixing_problems(key, kwargs.get(key))]
    return problems


def _checked(function: F) -> F:
    function.check_arguments = check_image_arguments  # type: ignore[attr-defined]
    return function


@_checked
def image_folder(
    path: str,
    *,
    size: int | Sequence[int] | None = None,
    grayscale: bool = False,
    val_path: str | None = None,
    augment: Augment = None,
    mixup: dict[str, float] | None = None,
    cutmix: dict[str, float] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    preprocessing: ImagePreprocessing | None = None,
) -> DataBundle:
    """Images in one subfolder per class (`path/cat/1.png`, `path/dog/2.jpg`, ...), read
    from disk as batches need them.

    Args:
        path: the folder of class subfolders; subfolder names are the class names.
        size: the model's input size, `32` or `[height, width]`; default the size the
            model names (a pretrained network), else 32. Images are resized (shorter side)
            and centre-cropped to it.
        grayscale: read images as one channel instead of three.
        val_path: a second folder, same layout, used for validation instead of a split.
        augment: training augmentation: a list of torchvision.transforms.v2 names
            (`[RandomResizedCrop, RandomHorizontalFlip, {ColorJitter: {brightness: 0.2}}]`,
            per image, see `recipe.vision.transforms`), or the older batch mapping
            `{hflip: 0.5, crop: 4, noise: 0.02}` (`recipe.data.augment`).
        mixup, cutmix: batch mixing, e.g. `{alpha: 0.2}` / `{alpha: 1.0}` (both: one of the
            two per batch); the loss then gets soft targets.
        val_fraction: share held out for validation when `val_path` is not given,
            stratified by class.
        seed: seeds the split and the augmentation.
        normalize: without a model's mean / std, standardise each channel with the mean
            and std of a sample of training images; false: values stay in [0, 1].
        preprocessing: given by the recipe: what the configured model expects.
    """
    root = existing_folder(path, "image_folder")
    files, labels, class_names = scan_folder(root)
    files, labels = drop_unreadable(files, labels, str(root))
    val: tuple[list[Path], list[int]] | None = None
    if val_path is not None:
        val_root = existing_folder(val_path, "image_folder val_path")
        val_files, val_labels, val_classes = scan_folder(val_root)
        unknown = sorted(set(val_classes) - set(class_names))
        if unknown:
            raise DataError(
                f"{val_root}: class folders {unknown} are not in the training folder "
                f"{root} (its classes: {class_names}); rename or remove them"
            )
        remapped = [class_names.index(val_classes[i]) for i in val_labels]
        val = drop_unreadable(val_files, remapped, str(val_root))
    return _image_bundle(
        files, labels, val, class_names, str(root), size, grayscale, augment, mixup, cutmix,
        val_fraction, seed, normalize, preprocessing,
    )  # fmt: skip


@_checked
def image_manifest(
    path: str,
    *,
    path_column: str = "path",
    label_column: str = "label",
    val_path: str | None = None,
    size: int | Sequence[int] | None = None,
    grayscale: bool = False,
    augment: Augment = None,
    mixup: dict[str, float] | None = None,
    cutmix: dict[str, float] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    preprocessing: ImagePreprocessing | None = None,
) -> DataBundle:
    """Images listed in a manifest: a CSV with a header row, or JSON lines (`.jsonl`).

    Each row names an image (`path_column`, relative to the manifest's folder) and its
    class (`label_column`); the classes are the sorted distinct labels. `val_path`: a
    second manifest for validation. The other arguments are `image_folder`'s.
    """
    manifest = existing_file(path, "image_manifest")
    files, raw = read_manifest(manifest, path_column, label_column)
    encoded, class_names = encode_labels(np.array(raw), None, str(manifest))
    files, labels = drop_unreadable(files, encoded.tolist(), str(manifest))
    val = None
    if val_path is not None:
        val_manifest = existing_file(val_path, "image_manifest val_path")
        val_files, val_raw = read_manifest(val_manifest, path_column, label_column)
        unknown = sorted(set(val_raw) - set(class_names))
        if unknown:
            raise DataError(
                f"{val_manifest}: labels {unknown} do not occur in {manifest} "
                f"(its classes: {class_names})"
            )
        val_labels = [class_names.index(label) for label in val_raw]
        val = drop_unreadable(val_files, val_labels, str(val_manifest))
    return _image_bundle(
        files, labels, val, class_names, str(manifest), size, grayscale, augment, mixup, cutmix,
        val_fraction, seed, normalize, preprocessing,
    )  # fmt: skip


def _image_bundle(
    files: list[Path],
    labels: list[int],
    val: tuple[list[Path], list[int]] | None,
    class_names: list[str],
    source: str,
    size: int | Sequence[int] | None,
    grayscale: bool,
    augment: Augment,
    mixup: dict[str, float] | None,
    cutmix: dict[str, float] | None,
    val_fraction: float,
    seed: int,
    normalize: bool,
    preprocessing: ImagePreprocessing | None,
) -> DataBundle:
    from recipe.vision import transforms

    emptied = [name for i, name in enumerate(class_names) if i not in set(labels)]
    if emptied:
        raise DataError(
            f"{source}: class(es) {emptied} have no readable images; add images or remove them"
        )
    problems = check_image_arguments({"augment": augment, "mixup": mixup, "cutmix": cutmix})
    if problems:
        where, message = problems[0]
        raise DataError(f"{'.'.join(map(str, where))}: {message}")
    label_array = np.array(labels, dtype=np.int64)
    if val is None:
        train_idx, val_idx = split_indices(
            len(files), val_fraction=val_fraction, seed=seed, labels=label_array, source=source
        )
        train_files, train_labels = [files[i] for i in train_idx], label_array[train_idx]
        val_files, val_labels = [files[i] for i in val_idx], label_array[val_idx]
    else:
        train_files, train_labels = files, label_array
        val_files, val_labels = val[0], np.array(val[1], dtype=np.int64)

    pre = _preprocessing(preprocessing, size, grayscale, normalize, train_files, seed, source)
    train_tf = transforms.eval_transform(pre)
    batch_augment = None
    if isinstance(augment, list):
        train_tf = transforms.train_transform(pre, augment)
    elif augment:  # the older batch mapping: flips, shifts, noise on normalised batches
        batch_augment = ImageAugment.from_config(augment, seed=seed)
    eval_tf = transforms.eval_transform(pre)
    preprocess: dict[str, Any] = {
        "kind": "image_files",
        "input_shape": list(pre.input_size),
        "task": "classification",
        "class_names": class_names,
        "grayscale": grayscale,
        "image": pre.to_json(),  # the eval transform predict applies (recipe.data.inputs)
        "source": source,
    }
    return DataBundle(
        train=ImageFiles(train_files, train_labels, train_tf, grayscale=grayscale, seed=seed),
        val=ImageFiles(val_files, val_labels, eval_tf, grayscale=grayscale, seed=seed),
        task="classification",
        input_shape=tuple(pre.input_size),
        num_outputs=len(class_names),
        class_names=class_names,
        preprocess=preprocess,
        train_transform=batch_augment,
        batch_mix=transforms.batch_mixing(mixup, cutmix, len(class_names)),
    )


def _preprocessing(
    model: ImagePreprocessing | None,
    size: int | Sequence[int] | None,
    grayscale: bool,
    normalize: bool,
    train_files: list[Path],
    seed: int,
    source: str,
) -> ImagePreprocessing:
    """The model's preprocessing (at `size` when the config sets one), else the data's."""
    from dataclasses import replace

    from recipe.vision.transforms import default_preprocessing, eval_transform

    channels = 1 if grayscale else 3
    if model is not None:
        if grayscale and model.input_size[0] == 3:
            # timm and torchvision models take one channel when the data has one (timm's
            # in_chans, torchvision's first convolution summed over RGB): the eval
            # transform follows, with the mean of the model's per-channel statistics.
            model = replace(
                model,
                input_size=(1, *model.input_size[1:]),
                mean=(sum(model.mean) / len(model.mean),),
                std=(sum(model.std) / len(model.std),),
            )
        if model.input_size[0] != channels:
            raise DataError(
                f"{source}: the model ({model.source}) takes {model.input_size[0]}-channel "
                f"images but grayscale is {str(grayscale).lower()}; "
                f"set grayscale: {str(model.input_size[0] == 1).lower()}"
            )
        if size is None:
            return model
        height, width = _image_size(size)
        ratio = model.resize_size / max(model.input_size[1:])
        return replace(
            model,
            input_size=(channels, height, width),
            resize_size=round(max(height, width) * ratio),
        )
    height, width = _image_size(32 if size is None else size)
    plain = default_preprocessing((height, width), channels, [0.0] * channels, [1.0] * channels)
    if not normalize:
        return plain
    # The per-channel statistics of a seeded sample of training images, as the model sees
    # them (after resize and crop): the data's own normalisation, read without loading all.
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(train_files), size=min(STATS_SAMPLE, len(train_files)), replace=False)
    transform = eval_transform(plain)
    sample = ImageFiles([train_files[i] for i in chosen], np.zeros(len(chosen)), transform,
                        grayscale=grayscale)  # fmt: skip
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    for i in range(len(sample)):  # one image at a time: the sample is never held whole
        pixels = sample[i][0].double().flatten(1)
        total += pixels.mean(dim=1)
        squares += (pixels**2).mean(dim=1)
    mean = total / len(sample)
    std = (squares / len(sample) - mean**2).clamp_min(1e-12).sqrt()
    return default_preprocessing((height, width), channels, mean.tolist(), std.tolist())


def _image_size(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size, size
    if (
        isinstance(size, Sequence)
        and len(size) == 2
        and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
    ):
        return int(size[0]), int(size[1])
    raise DataError(f"size must be a positive integer or [height, width], got {size!r}")
