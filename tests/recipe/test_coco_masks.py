"""Segmentation from COCO instances: the generator's polygons (squares, triangles) and RLE
(circles) rasterised by pycocotools against the generator's own PNG masks, crowd regions
as ignore_index, and bad annotations refused with one line naming them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from recipe.data import DataError
from recipe.data.coco_masks import segmentation_coco
from scripts.make_shapes_dataset import write_dataset


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("coco") / "shapes"
    write_dataset(root, images=40, size=32, seed=3)
    return root


def edges(mask: np.ndarray) -> np.ndarray:
    """Pixels with another class in their 3x3 neighbourhood."""
    image = Image.fromarray(mask)
    grown = np.asarray(image.filter(ImageFilter.MaxFilter(3)))
    shrunk = np.asarray(image.filter(ImageFilter.MinFilter(3)))
    return grown != shrunk


def test_rasterised_masks_equal_the_generators_up_to_polygon_edge_pixels(shapes: Path) -> None:
    coco = json.loads((shapes / "coco.json").read_text())
    kinds = {type(a["segmentation"]).__name__ for a in coco["annotations"]}
    assert kinds == {"list", "dict"}  # polygons and uncompressed RLE both written
    from recipe.registry import instantiate

    ref = {"_target_": "segmentation_coco", "annotations": str(shapes / "coco.json")}
    bundle = instantiate({**ref, "val_fraction": 0.25}, "data")  # the config's built-in name
    assert bundle.class_names == ["background", "circle", "square", "triangle"]
    assert bundle.task == "segmentation" and len(bundle.train) + len(bundle.val) == 40
    wrong = total = 0
    for dataset in (bundle.train, bundle.val):
        for i, path in enumerate(dataset.paths):
            ours = dataset.mask_values(i)
            truth = np.asarray(Image.open(shapes / "masks" / Path(path).name))
            differ = ours != truth
            assert not (differ & ~edges(truth)).any()  # only ever on a shape's edge
            circles = truth == 1  # RLE of the very instance mask: exact
            assert np.array_equal(ours[circles & ~edges(truth)], truth[circles & ~edges(truth)])
            wrong, total = wrong + int(differ.sum()), total + differ.size
    # Measured: 361 of 40,960 pixels (0.9 %), all on polygon edges (PIL's fill vs COCO's).
    assert wrong / total < 0.02
    x, y = bundle.val[0]  # through the eval transform: the mask as a class-index tensor
    assert y.dtype == torch.int64 and tuple(y.shape) == (32, 32) and x.shape == (3, 32, 32)


def test_a_crowd_region_is_ignore_index_under_the_instances_drawn_over_it(
    shapes: Path, tmp_path: Path
) -> None:
    from pycocotools import mask as coco_mask

    coco = json.loads((shapes / "coco.json").read_text())
    region = np.zeros((32, 32), dtype=np.uint8, order="F")
    region[:, :16] = 1  # the left half is a crowd of squares
    rle = coco_mask.encode(region)
    rle["counts"] = rle["counts"].decode()  # compressed RLE, as COCO files store it
    crowd = {"id": 999, "image_id": 1, "category_id": 2, "iscrowd": 1, "segmentation": rle}
    coco["annotations"].append(crowd)
    path = tmp_path / "crowd.json"
    path.write_text(json.dumps(coco))
    bundle = segmentation_coco(str(path), images=str(shapes), val_fraction=0.25)
    dataset = bundle.train if "shapes_0000" in str(bundle.train.paths) else bundle.val
    index = [Path(p).name for p in dataset.paths].index("shapes_0000.png")
    ours = dataset.mask_values(index)
    plain = segmentation_coco(str(shapes / "coco.json"), val_fraction=0.25)
    same = plain.train if dataset is bundle.train else plain.val
    before = same.mask_values(index)
    left, right = ours[:, :16], ours[:, 16:]
    assert np.array_equal(right, before[:, 16:])  # outside the crowd: unchanged
    assert np.array_equal(left[before[:, :16] > 0], before[:, :16][before[:, :16] > 0])
    assert (left[before[:, :16] == 0] == 255).all()  # unlabelled crowd pixels: ignored
    painted = segmentation_coco(str(path), images=str(shapes), crowd="class", val_fraction=0.25)
    same = painted.train if dataset is bundle.train else painted.val
    assert (same.mask_values(index)[:, :16][before[:, :16] == 0] == 2).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"segmentation": [[1, 1, 40, 2, 5, 9]]},
            "annotation {id} (image images/shapes_0000.png): polygon point (40, 2) is outside "
            "the 32x32 image; fix the annotation or drop it",
        ),
        (
            {"category_id": 7},
            "annotation {id} (image images/shapes_0000.png): category_id 7 is not in the "
            "file's categories (1 circle, 2 square, 3 triangle)",
        ),
        (
            {"segmentation": {"counts": [0, 4], "size": [2, 2]}},
            "annotation {id} (image images/shapes_0000.png): RLE size [2, 2] is not the "
            "image's [height, width] [32, 32]",
        ),
    ],
)
def test_a_bad_annotation_is_one_line_naming_file_annotation_and_image(
    shapes: Path, tmp_path: Path, change: dict, message: str
) -> None:
    coco = json.loads((shapes / "coco.json").read_text())
    first = next(a for a in coco["annotations"] if a["image_id"] == 1)
    first.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(coco))
    with pytest.raises(DataError) as error:
        segmentation_coco(str(path), images=str(shapes))
    assert str(error.value) == f"{path}: " + message.format(id=first["id"])
