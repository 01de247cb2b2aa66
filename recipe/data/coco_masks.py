"""Semantic segmentation from a COCO instances file: polygons and RLE rasterised to masks.

`segmentation_coco` reads a COCO JSON (`images`, `annotations` with `segmentation` as
polygons `[[x1, y1, x2, y2, ...], ...]`, uncompressed RLE `{"counts": [..], "size": [h, w]}`
or compressed RLE, `categories`) and gives the same DataBundle as `segmentation_folder`:
each image's mask is its annotations painted as class indices, rasterised per sample by
pycocotools (the reference implementation of COCO's own polygon and RLE rules). Class 0
is the background; the categories follow in id order (or `classes` names them, index 0
first). Crowd regions (`iscrowd: 1`, usually RLE over many objects) become `ignore_index`
(no loss, no metric) under the instances drawn over them, unless `crowd: class`.

Everything is checked once when the data is built, before any training: an annotation
of an unknown image or category, a polygon point outside its image, a polygon of fewer than
three points or an RLE of another size than its image each stop the build with one line
naming the file, the annotation id and the image.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recipe.data.bundle import DataBundle
from recipe.data.errors import DataError
from recipe.data.image_builders import Augment, _checked
from recipe.data.segmentation import DEFAULT_IGNORE_INDEX, SegmentationFiles, segmentation_bundle
from recipe.vision.preprocessing import ImagePreprocessing


@dataclass
class CocoMask:
    """One image's annotations, to rasterise: `(class value, segmentation)` in paint order."""

    name: str  # "coco.json (image images/a.png)": what a mask error names
    height: int
    width: int
    layers: list[tuple[int, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name

    def rasterise(self) -> np.ndarray:
        """The class-index mask `(height, width)`, each layer painted over the last."""
        values = np.zeros((self.height, self.width), dtype=np.uint8)
        with warnings.catch_warnings():  # pycocotools' decode under NumPy 2 warns, harmlessly
            warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
            for value, segmentation in self.layers:
                values[self._decode(segmentation).astype(bool)] = value
        return values

    def _decode(self, segmentation: Any) -> np.ndarray:
        from pycocotools import mask as coco_mask

        if isinstance(segmentation, list):  # polygons: one RLE each, merged
            rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, self.height, self.width))
        elif isinstance(segmentation["counts"], list):  # uncompressed RLE
            rle = coco_mask.frPyObjects(segmentation, self.height, self.width)
        else:
            rle = segmentation
        decoded: np.ndarray = coco_mask.decode(rle)
        return decoded


class CocoSegmentationFiles(SegmentationFiles):
    """SegmentationFiles whose masks are rasterised from COCO annotations per sample."""

    def __init__(self, paths: Sequence[Path], masks: Sequence[CocoMask], *args: Any, **kw: Any):
        super().__init__(paths, [Path(m.name) for m in masks], *args, **kw)  # names errors
        self.records = list(masks)

    def mask_values(self, index: int) -> np.ndarray:
        return self.records[index].rasterise()


def _check_segmentation(where: str, segmentation: Any, height: int, width: int) -> None:
    if isinstance(segmentation, list):
        if not segmentation:
            raise DataError(f"{where}: an empty polygon list; give its outline or drop it")
        for polygon in segmentation:
            if not isinstance(polygon, list) or len(polygon) < 6 or len(polygon) % 2:
                raise DataError(
                    f"{where}: a polygon is a list of x, y pairs, at least three points; got "
                    f"{str(polygon)[:60]}"
                )
            points = np.asarray(polygon, dtype=float).reshape(-1, 2)
            outside = (points[:, 0] < 0) | (points[:, 0] > width)
            outside |= (points[:, 1] < 0) | (points[:, 1] > height)
            if outside.any():
                x, y = points[int(np.argmax(outside))]
                raise DataError(
                    f"{where}: polygon point ({x:g}, {y:g}) is outside the {width}x{height} "
                    "image; fix the annotation or drop it"
                )
        return
    if not isinstance(segmentation, dict) or "counts" not in segmentation:
        raise DataError(f"{where}: segmentation must be polygons or RLE {{counts, size}}")
    if list(segmentation.get("size", [])) != [height, width]:
        raise DataError(
            f"{where}: RLE size {segmentation.get('size')} is not the image's "
            f"[height, width] [{height}, {width}]"
        )


def read_coco(
    path: Path, image_root: Path, classes: Sequence[str] | None, ignore_index: int, crowd: str
) -> tuple[list[Path], list[CocoMask], list[str]]:
    """The images of a COCO file with their masks to rasterise, and the class names."""
    from PIL import Image

    try:
        coco = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read this COCO file ({error})") from None
    if not isinstance(coco, dict) or not {"images", "annotations", "categories"} <= set(coco):
        raise DataError(f"{path}: a COCO file needs images, annotations and categories")
    categories = sorted(coco["categories"], key=lambda c: c["id"])
    if classes is None:
        class_names = ["background", *(str(c["name"]) for c in categories)]
    else:
        class_names = [str(c) for c in classes]
    known = ", ".join(f"{c['id']} {c['name']}" for c in categories)
    images: dict[Any, tuple[Path, CocoMask]] = {}
    file_names: dict[Any, str] = {}
    for image in coco["images"]:
        file = image_root / image["file_name"]
        if not file.is_file():
            raise DataError(f"{path}: image {image['id']}: no such file {file}")
        with Image.open(file) as opened:
            if opened.size != (image["width"], image["height"]):
                raise DataError(
                    f"{path}: image {image['id']}: {file} is {opened.size[0]}x{opened.size[1]}, "
                    f"the file says {image['width']}x{image['height']}"
                )
        file_names[image["id"]] = str(image["file_name"])
        name = f"{path} (image {image['file_name']})"
        images[image["id"]] = (file, CocoMask(name, int(image["height"]), int(image["width"])))
    crowds: dict[Any, list[tuple[int, Any]]] = {}
    for ann in coco["annotations"]:
        if ann.get("image_id") not in images:
            raise DataError(f"{path}: annotation {ann.get('id')}: no image {ann.get('image_id')}")
        mask = images[ann["image_id"]][1]
        where = f"{path}: annotation {ann.get('id')} (image {file_names[ann['image_id']]})"
        category = next((c for c in categories if c["id"] == ann.get("category_id")), None)
        if category is None:
            raise DataError(
                f"{where}: category_id {ann.get('category_id')} is not in the file's "
                f"categories ({known})"
            )
        if str(category["name"]) not in class_names:
            raise DataError(f"{where}: category {category['name']!r} is not in classes")
        if "segmentation" not in ann:
            raise DataError(f"{where}: no segmentation (polygons or RLE)")
        _check_segmentation(where, ann["segmentation"], mask.height, mask.width)
        value = class_names.index(str(category["name"]))
        if ann.get("iscrowd") and crowd == "ignore":
            crowds.setdefault(ann["image_id"], []).append((ignore_index, ann["segmentation"]))
        else:
            mask.layers.append((value, ann["segmentation"]))
    for image_id, layers in crowds.items():  # crowds first: the instances drawn over them
        images[image_id][1].layers[:0] = layers
    files = [file for file, _ in images.values()]
    return files, [mask for _, mask in images.values()], class_names


@_checked
def segmentation_coco(
    annotations: str,
    images: str | None = None,
    *,
    classes: Sequence[str] | None = None,
    ignore_index: int = DEFAULT_IGNORE_INDEX,
    crowd: str = "ignore",
    val_annotations: str | None = None,
    val_images: str | None = None,
    size: int | Sequence[int] | None = None,
    grayscale: bool = False,
    augment: Augment = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    normalize: bool = True,
    preprocessing: ImagePreprocessing | None = None,
) -> DataBundle:
    """Segmentation masks from a COCO instances file (see the module docstring).

    Args:
        annotations: the COCO JSON file.
        images: the folder `file_name`s are relative to; default the JSON's folder.
        classes: class names by index, `background` first; default background then the
            categories in id order.
        ignore_index: the mask value of crowd regions (no loss, not in the metrics).
        crowd: `ignore` (crowd regions -> ignore_index) or `class` (painted as their class).
        val_annotations, val_images: a separate validation file instead of a split.
        The other arguments are `segmentation_folder`'s.
    """
    if crowd not in ("ignore", "class"):
        raise DataError(f"crowd: 'ignore' or 'class', not {crowd!r}")
    source = Path(annotations)
    if not source.is_file():
        raise DataError(f"segmentation_coco annotations: no such file {annotations}")
    root = Path(images) if images is not None else source.parent
    files, masks, class_names = read_coco(source, root, classes, ignore_index, crowd)
    val = None
    if val_annotations is not None:
        val_source = Path(val_annotations)
        val_root = Path(val_images) if val_images is not None else val_source.parent
        val_files, val_masks, _ = read_coco(val_source, val_root, class_names, ignore_index, crowd)
        val = (val_files, val_masks)
    if len(class_names) < 2:
        raise DataError(f"{source}: segmentation needs at least two classes (background too)")
    return segmentation_bundle(
        (files, masks),
        val,
        class_names,
        dataset=CocoSegmentationFiles,
        source=str(source),
        ignore_index=ignore_index,
        size=size,
        grayscale=grayscale,
        augment=augment,
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        preprocessing=preprocessing,
    )
