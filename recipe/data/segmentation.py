"""Semantic segmentation data: a folder of images and a folder of masks, matched by stem.

A mask is an image file of class indices (`masks/0001.png` for `images/0001.jpg`), one
byte per pixel (mode L or P; 16-bit I works too), the same size as its image; the value
`ignore_index` (default 255) marks pixels that count for neither the loss nor the metrics.
Images are read lazily like classification's (`recipe.data.image_files`); the mask goes
through the same torchvision.transforms.v2 pipeline as its image, as a `tv_tensors.Mask`,
so every resize, crop and flip moves the mask with the pixels (nearest-neighbour, no new
class values) while colour transforms and normalisation leave it alone. The pipeline is
seeded per sample, as for classification.

The build checks every pair from the file headers alone (cheap): an image without a mask,
or a mask of another size than its image, stops it naming both files. A mask value that is
not a class index stops training naming the mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recipe.data.bundle import DataBundle, split_indices
from recipe.data.errors import DataError
from recipe.data.file_datasets import IMAGE_EXTENSIONS, existing_folder
from recipe.data.image_builders import Augment, _checked, _preprocessing, check_image_arguments
from recipe.data.image_files import ImageFiles, open_image, sample_seed
from recipe.vision.preprocessing import ImagePreprocessing

DEFAULT_IGNORE_INDEX = 255


class SegmentationFiles(ImageFiles):
    """Images and their masks: `dataset[(epoch, i)]` -> (image tensor, mask int64 (H, W))."""

    def __init__(
        self,
        paths: Sequence[Path],
        masks: Sequence[Path],
        transform: Any,
        *,
        num_classes: int,
        ignore_index: int,
        grayscale: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(paths, np.zeros(len(paths)), transform, grayscale=grayscale, seed=seed)
        self.masks = np.array([str(m) for m in masks])
        self.joint: Any = transform  # v2: (image, mask) -> (tensor, mask), moved alike
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        from torchvision import tv_tensors

        epoch, index = key if isinstance(key, tuple) else (0, key)
        image = open_image(str(self.paths[index]), self.grayscale)
        values = self.mask_values(index)
        bad = values[(values >= self.num_classes) & (values != self.ignore_index)]
        if len(bad):
            raise DataError(
                f"{self.masks[index]}: mask value {int(bad[0])} is not a class index "
                f"(0..{self.num_classes - 1}) nor ignore_index {self.ignore_index}"
            )
        mask = tv_tensors.Mask(torch.from_numpy(values.astype(np.int64)))
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(sample_seed(self.seed, epoch, index))
            x, y = self.joint(image, mask)
        return x, y.as_subclass(torch.Tensor)

    def mask_values(self, index: int) -> np.ndarray:
        """Sample `index`'s mask as class indices; a subclass may rasterise it instead
        (recipe.data.coco_masks: COCO polygons and RLE)."""
        return read_mask(self.masks[index])


def read_mask(path: str | Path) -> np.ndarray:
    """A mask file as its 2-D array of class indices (a palette image: its indices)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as mask:
            values = np.array(mask)
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read this mask ({error}); remove or replace it") from None
    if values.ndim != 2:
        raise DataError(
            f"{path}: a mask has one value per pixel, this file has {values.shape[-1]} channels; "
            "save the class indices as a grayscale (L) or palette (P) PNG"
        )
    return values


def pair_files(images: Path, masks: Path) -> tuple[list[Path], list[Path]]:
    """Each image of `images` with the mask of the same stem in `masks`, sizes checked."""
    from PIL import Image

    found = sorted(
        p for p in images.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    )
    if not found:
        raise DataError(f"{images}: no images ({', '.join(IMAGE_EXTENSIONS)})")
    by_stem = {p.stem: p for p in masks.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS}
    paired: list[Path] = []
    for image in found:
        mask = by_stem.get(image.stem)
        if mask is None:
            raise DataError(
                f"{image}: no mask for it in {masks} (expected {masks / (image.stem + '.png')})"
            )
        with Image.open(image) as a, Image.open(mask) as b:
            if a.size != b.size:
                raise DataError(
                    f"{mask}: mask is {b.size[0]}x{b.size[1]} but its image {image} is "
                    f"{a.size[0]}x{a.size[1]}; masks must match their images pixel for pixel"
                )
        paired.append(mask)
    return found, paired


@_checked
def segmentation_folder(
    images: str,
    masks: str,
    *,
    classes: Sequence[str] | None = None,
    ignore_index: int = DEFAULT_IGNORE_INDEX,
    val_images: str | None = None,
    val_masks: str | None = None,
    size: int | Sequence[int] | None = None,
    grayscale: bool = False,
    augment: Augment = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    preprocessing: ImagePreprocessing | None = None,
) -> DataBundle:
    """Images in one folder, their masks (class indices) in another, matched by file stem.

    Args:
        images, masks: the two folders (`images/a.jpg` goes with `masks/a.png`).
        classes: the class names, by index (index 0 first, usually `background`); default
            `0..K-1` with K one more than the largest value in the masks (all read once).
        ignore_index: the mask value of unlabelled pixels (no loss, not in the metrics).
        val_images, val_masks: separate validation folders instead of a split.
        augment: training augmentation, a list of torchvision.transforms.v2 names; the
            geometric ones move the mask too (`RandomResizedCrop`, `RandomHorizontalFlip`...).
        The other arguments are `image_folder`'s.
    """
    image_root = existing_folder(images, "segmentation_folder images")
    mask_root = existing_folder(masks, "segmentation_folder masks")
    files, mask_files = pair_files(image_root, mask_root)
    val: tuple[list[Path], list[Path]] | None = None
    if (val_images is None) != (val_masks is None):
        raise DataError("give both val_images and val_masks, or neither")
    if val_images is not None and val_masks is not None:
        val = pair_files(
            existing_folder(val_images, "segmentation_folder val_images"),
            existing_folder(val_masks, "segmentation_folder val_masks"),
        )
    if classes is None:
        largest = max(
            int(np.max(v, initial=0, where=v != ignore_index)) for v in map(read_mask, mask_files)
        )
        class_names = [str(i) for i in range(largest + 1)]
    else:
        class_names = [str(c) for c in classes]
    if len(class_names) < 2:
        raise DataError(f"{mask_root}: segmentation needs at least two classes (background too)")
    return segmentation_bundle(
        (files, mask_files),
        val,
        class_names,
        dataset=SegmentationFiles,
        source=str(image_root),
        ignore_index=ignore_index,
        size=size,
        grayscale=grayscale,
        augment=augment,
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        preprocessing=preprocessing,
    )


def segmentation_bundle(
    train: tuple[list[Path], list[Any]],
    val: tuple[list[Path], list[Any]] | None,
    class_names: list[str],
    *,
    dataset: Any,
    source: str,
    ignore_index: int,
    size: int | Sequence[int] | None,
    grayscale: bool,
    augment: Augment,
    val_fraction: float,
    seed: int,
    normalize: bool,
    preprocessing: ImagePreprocessing | None,
) -> DataBundle:
    """The DataBundle of a segmentation source: images paired with masks (`train`, and
    `val` or a split of `train`), each pair read by `dataset` (a SegmentationFiles class)."""
    if augment is not None and not isinstance(augment, list):
        raise DataError("augment: a list of torchvision.transforms.v2 names for this data")
    problems = check_image_arguments({"augment": augment})
    if problems:
        where, message = problems[0]
        raise DataError(f"{'.'.join(map(str, where))}: {message}")
    if val is None:
        files, masks = train
        train_idx, val_idx = split_indices(
            len(files), val_fraction=val_fraction, seed=seed, source=source
        )
        train = ([files[i] for i in train_idx], [masks[i] for i in train_idx])
        val = ([files[i] for i in val_idx], [masks[i] for i in val_idx])

    from recipe.vision import transforms

    pre = _preprocessing(preprocessing, size, grayscale, normalize, train[0], seed, source)
    eval_tf = transforms.eval_transform(pre)
    train_tf = transforms.train_transform(pre, augment) if augment else eval_tf
    options: dict[str, Any] = {
        "num_classes": len(class_names),
        "ignore_index": ignore_index,
        "grayscale": grayscale,
        "seed": seed,
    }
    return DataBundle(
        train=dataset(*train, train_tf, **options),
        val=dataset(*val, eval_tf, **options),
        task="segmentation",
        input_shape=tuple(pre.input_size),
        num_outputs=len(class_names),
        class_names=class_names,
        preprocess={
            "kind": "image_files",  # predict reads images through the same eval transform
            "input_shape": list(pre.input_size),
            "task": "segmentation",
            "class_names": class_names,
            "ignore_index": ignore_index,
            "grayscale": grayscale,
            "image": pre.to_json(),
            "source": source,
        },
    )
