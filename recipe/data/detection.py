"""Object detection data: images with boxes, from COCO JSON, Pascal VOC XML or a manifest.

Three builders, one dataset:

- `detection_coco`: a COCO detection file (`bbox` [x, y, w, h]; `iscrowd: 1` boxes are kept
  out of the training targets and ignored by the metric), categories mapped by id to the
  contiguous labels 1..K.
- `detection_voc`: a folder of Pascal VOC `.xml` files (`difficult` objects: as crowd).
- `detection_manifest`: JSONL (`{"path", "boxes": [[x1, y1, x2, y2], ...], "labels"}`) or CSV
  (`path,x1,y1,x2,y2,label`, a box a row).

Labels: 0 is the background, as torchvision's detectors expect; the classes are 1..K and
`class_names` is `["background", *classes]`. Boxes are validated on load
(`recipe.data.detection_formats`).

A sample is `(image, target)`: the image a float tensor `(C, H, W)` in [0, 1] at its own
size (the detector resizes and normalises it itself: `min_size` / `max_size` of the model),
the target `{"boxes": (N, 4) XYXY pixels, "labels": (N,), "iscrowd": (N,)}`. Batches are
lists (images of different sizes; `detection_collate`). Training augmentation is the
config's torchvision.transforms.v2 list applied to the image and a `tv_tensors.BoundingBoxes`
together (flips, `ScaleJitter`, `RandomZoomOut`, `RandomResizedCrop`... move the boxes),
then `SanitizeBoundingBoxes` drops boxes cropped away; seeded per sample as for
classification.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recipe.data.bundle import DataBundle, split_indices
from recipe.data.detection_formats import (
    BACKGROUND,
    Annotation,
    ImageRecord,
    image_size,
    read_coco,
    read_manifest,
    read_voc,
    validate,
)
from recipe.data.errors import DataError
from recipe.data.file_datasets import existing_file, existing_folder
from recipe.data.image_builders import Augment, _checked, check_image_arguments
from recipe.data.image_files import ImageFiles, open_image, sample_seed

Target = dict[str, torch.Tensor]


def _labels_and_crowd(sample: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """What SanitizeBoundingBoxes drops with a box: its label and its crowd flag."""
    target = sample[1]
    return target["labels"], target["iscrowd"]


def detection_collate(batch: list[tuple[torch.Tensor, Target]]) -> tuple[list[Any], list[Any]]:
    """A batch as (list of images, list of targets): detectors take images of any size."""
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)


class DetectionImages(ImageFiles):
    """Images and their boxes: `dataset[(epoch, i)]` -> (image (C, H, W) in [0, 1], target)."""

    collate_fn = staticmethod(detection_collate)

    def __init__(
        self,
        paths: Sequence[Path],
        annotations: Sequence[Annotation],
        transform: Any,
        *,
        grayscale: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(paths, np.zeros(len(paths)), transform, grayscale=grayscale, seed=seed)
        self.annotations = list(annotations)
        self.joint: Any = transform  # v2: (image, target) -> (tensor, target), moved alike

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, Target]:  # type: ignore[override]
        from torchvision import tv_tensors

        epoch, index = key if isinstance(key, tuple) else (0, key)
        image = open_image(str(self.paths[index]), self.grayscale)
        boxes, labels, crowd = self.annotations[index]
        target = {
            "boxes": tv_tensors.BoundingBoxes(
                torch.from_numpy(boxes.copy()), format="XYXY", canvas_size=image.size[::-1]
            ),
            "labels": torch.from_numpy(labels.copy()),
            "iscrowd": torch.from_numpy(crowd.astype(np.int64)),
        }
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(sample_seed(self.seed, epoch, index))
            x, out = self.joint(image, target)
        return x, {k: v.as_subclass(torch.Tensor) for k, v in out.items()}


def detection_transform(augment: list[Any] | None, size: tuple[int, int]) -> Any:
    """PIL image + target -> float image in [0, 1] + target, the `augment` list between
    (boxes moved with the pixels, then sanitised); no list: conversion alone."""
    from torchvision.transforms import v2

    from recipe.vision.transforms import _build, parse_augment

    steps: list[Any] = [v2.ToImage()]
    if augment:
        steps += [_build(name, args, size) for name, args in parse_augment(augment)]
    steps.append(v2.ToDtype(torch.float32, scale=True))
    if augment:
        steps.append(v2.SanitizeBoundingBoxes(labels_getter=_labels_and_crowd))
    return v2.Compose(steps)


def read_detection_images(inputs: Sequence[str], grayscale: bool) -> tuple[list[Any], list[str]]:
    """Images for `predict`: each a float tensor in [0, 1] at its own size, so the boxes
    the detector returns are in the input image's own pixels."""
    from recipe.data.inputs import _image_paths

    files = [f for item in inputs for f in _image_paths(item)]
    if not files:
        raise DataError("predict: no images found in " + ", ".join(map(str, inputs)))
    transform = detection_transform(None, (1, 1))
    images = [transform(open_image(f, grayscale), {})[0] for f in files]
    return images, [str(f) for f in files]


def _class_names(records: list[ImageRecord], classes: Sequence[str] | None) -> list[str]:
    if classes is None:
        found = sorted({box.label for record in records for box in record.boxes})
        if not found:
            raise DataError(f"{records[0].source}: no box has a label; label them or give classes")
        return [BACKGROUND, *found]
    names = [str(c) for c in classes]
    return names if names and names[0] == BACKGROUND else [BACKGROUND, *names]


def _bundle(
    records: list[ImageRecord],
    val_records: list[ImageRecord] | None,
    class_names: list[str],
    *,
    source: str,
    augment: Augment,
    val_fraction: float,
    seed: int,
    grayscale: bool,
) -> DataBundle:
    if augment is not None and not isinstance(augment, list):
        raise DataError("augment: a list of torchvision.transforms.v2 names for this data")
    problems = check_image_arguments({"augment": augment})
    if problems:
        where, message = problems[0]
        raise DataError(f"{'.'.join(map(str, where))}: {message}")
    if not records:
        raise DataError(f"{source}: no images")
    annotations = validate(records, class_names)
    if val_records is None:
        train_idx, val_idx = split_indices(
            len(records), val_fraction=val_fraction, seed=seed, source=source
        )
        train = [records[i] for i in train_idx], [annotations[i] for i in train_idx]
        val = [records[i] for i in val_idx], [annotations[i] for i in val_idx]
    else:
        train = records, annotations
        val = val_records, validate(val_records, class_names)
    width, height = image_size(records[0].path, records[0].source)
    input_shape = (1 if grayscale else 3, height, width)  # the first image's; sizes may vary
    train_tf = detection_transform(augment, (height, width))
    eval_tf = detection_transform(None, (height, width))

    def dataset(part: tuple[list[ImageRecord], list[Annotation]], tf: Any) -> DetectionImages:
        paths = [r.path for r in part[0]]
        return DetectionImages(paths, part[1], tf, grayscale=grayscale, seed=seed)

    return DataBundle(
        train=dataset(train, train_tf),
        val=dataset(val, eval_tf),
        task="detection",
        input_shape=input_shape,
        num_outputs=len(class_names),  # background included, as torchvision counts
        class_names=class_names,
        preprocess={
            "kind": "detection_images",  # predict: images at their own size, in [0, 1]
            "input_shape": list(input_shape),
            "task": "detection",
            "class_names": class_names,
            "grayscale": grayscale,
            "source": source,
        },
    )


@_checked
def detection_coco(
    path: str,
    *,
    images: str | None = None,
    val_path: str | None = None,
    augment: Augment = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    grayscale: bool = False,
) -> DataBundle:
    """Boxes from a COCO detection file (`instances_*.json`).

    Args:
        path: the COCO JSON file.
        images: the folder `file_name`s are relative to; default the JSON file's folder.
        val_path: a second COCO file for validation (same categories) instead of a split.
        augment: training augmentation, torchvision.transforms.v2 names (boxes move too).
    """
    file = existing_file(path, "detection_coco")
    root = existing_folder(images, "detection_coco images") if images else file.parent
    records, categories = read_coco(file, root)
    val_records = None
    if val_path is not None:
        val_file = existing_file(val_path, "detection_coco val_path")
        val_records, val_categories = read_coco(val_file, root)
        if val_categories != categories:
            raise DataError(
                f"{val_file}: categories {val_categories} differ from {file}'s {categories}"
            )
    class_names = [BACKGROUND, *categories]
    return _bundle(
        records,
        val_records,
        class_names,
        source=str(file),
        augment=augment,
        val_fraction=val_fraction,
        seed=seed,
        grayscale=grayscale,
    )


@_checked
def detection_voc(
    path: str,
    *,
    images: str | None = None,
    classes: Sequence[str] | None = None,
    val_path: str | None = None,
    augment: Augment = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    grayscale: bool = False,
) -> DataBundle:
    """Boxes from a folder of Pascal VOC `.xml` files.

    Args:
        path: the folder of `.xml` files (VOC's `Annotations/`).
        images: the folder each `<filename>` is relative to; default the parent of `path`.
        classes: the class names (label 1 first); default the sorted names found.
        val_path: a second folder for validation instead of a split.
    """
    folder = existing_folder(path, "detection_voc")
    root = existing_folder(images, "detection_voc images") if images else folder.parent
    records = read_voc(folder, root)
    val_records = None
    if val_path is not None:
        val_records = read_voc(existing_folder(val_path, "detection_voc val_path"), root)
    return _bundle(
        records,
        val_records,
        _class_names(records, classes),
        source=str(folder),
        augment=augment,
        val_fraction=val_fraction,
        seed=seed,
        grayscale=grayscale,
    )


@_checked
def detection_manifest(
    path: str,
    *,
    classes: Sequence[str] | None = None,
    val_path: str | None = None,
    augment: Augment = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    grayscale: bool = False,
) -> DataBundle:
    """Boxes listed in a JSONL or CSV manifest (image paths relative to its folder).

    Args:
        path: `.jsonl` (`{"path", "boxes": [[x1, y1, x2, y2], ...], "labels": [...]}`) or
            `.csv` (`path,x1,y1,x2,y2,label`, one box a row; empty box cells list an image
            without boxes). Corners in pixels, x2 / y2 exclusive.
        classes: the class names (label 1 first); default the sorted labels found.
        val_path: a second manifest for validation instead of a split.
    """
    file = existing_file(path, "detection_manifest")
    records = read_manifest(file)
    val_records = None
    if val_path is not None:
        val_records = read_manifest(existing_file(val_path, "detection_manifest val_path"))
    return _bundle(
        records,
        val_records,
        _class_names(records, classes),
        source=str(file),
        augment=augment,
        val_fraction=val_fraction,
        seed=seed,
        grayscale=grayscale,
    )
