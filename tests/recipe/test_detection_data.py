"""Detection data on real generated files: COCO JSON, Pascal VOC XML, JSONL and CSV manifests
read to the same boxes, each bad annotation stopped in one line naming it, boxes moved with
the image by the seeded transforms.v2 pipeline, batches as lists."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
import torch

from recipe.data import DataError
from recipe.data.detection import detection_coco, detection_manifest, detection_voc
from recipe.data.loaders import make_loader
from scripts.make_shapes_dataset import write_dataset

CLASSES = ["background", "circle", "square", "triangle"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("det") / "shapes"
    write_dataset(root, images=10, size=32, seed=3)
    return root


@pytest.fixture
def shapes(written: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(written, tmp_path / "shapes"))


def _all(bundle) -> dict[str, tuple[list, list]]:  # type: ignore[no-untyped-def]
    out = {}
    for part in (bundle.train, bundle.val):
        for i in range(len(part)):
            _, target = part[i]
            out[Path(part.paths[i]).name] = (target["boxes"].tolist(), target["labels"].tolist())
    return out


def test_every_format_reads_the_same_boxes_and_labels(shapes: Path) -> None:
    options = {"val_fraction": 0.3, "seed": 1}
    bundles = [
        detection_coco(str(shapes / "coco.json"), **options),
        detection_voc(str(shapes / "voc"), **options),
        detection_manifest(str(shapes / "boxes.jsonl"), **options),
        detection_manifest(str(shapes / "boxes.csv"), classes=CLASSES[1:], **options),
    ]
    truth = {
        Path(row["path"]).name: (row["boxes"], [CLASSES.index(x) for x in row["labels"]])
        for row in map(json.loads, (shapes / "boxes.jsonl").read_text().splitlines())
    }
    for bundle in bundles:
        assert bundle.task == "detection" and bundle.class_names == CLASSES
        assert bundle.num_outputs == 4 and bundle.input_shape == (3, 32, 32)
        assert _all(bundle) == truth
        image, target = bundle.val[0]
        assert image.shape == (3, 32, 32) and image.dtype == torch.float32
        assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
        assert target["iscrowd"].tolist() == [0] * len(target["labels"])
    loader = make_loader(bundles[0].train, batch_size=3, shuffle=True, seed=0)
    images, targets = next(iter(loader))
    assert isinstance(images, list) and len(images) == 3 and len(targets) == 3
    assert set(targets[0]) == {"boxes", "labels", "iscrowd"}


def test_coco_category_ids_become_contiguous_labels_and_crowd_boxes_are_marked(
    shapes: Path,
) -> None:
    coco = json.loads((shapes / "coco.json").read_text())
    for category in coco["categories"]:  # ids 1, 2, 3 -> 30, 10, 20: sorted by id
        category["id"] = {1: 30, 2: 10, 3: 20}[category["id"]]
    for ann in coco["annotations"]:
        ann["category_id"] = {1: 30, 2: 10, 3: 20}[ann["category_id"]]
    coco["annotations"][0]["iscrowd"] = 1
    (shapes / "coco.json").write_text(json.dumps(coco))
    bundle = detection_coco(str(shapes / "coco.json"), val_fraction=0.3)
    assert bundle.class_names == ["background", "square", "triangle", "circle"]
    first = coco["annotations"][0]
    name = Path(coco["images"][first["image_id"] - 1]["file_name"]).name
    for part in (bundle.train, bundle.val):
        for i in range(len(part)):
            _, target = part[i]
            if Path(part.paths[i]).name == name:
                assert target["iscrowd"].tolist()[0] == 1
            assert sum(target["iscrowd"].tolist()) == (Path(part.paths[i]).name == name)


def test_a_box_outside_the_image_names_the_coco_annotation(shapes: Path) -> None:
    coco = json.loads((shapes / "coco.json").read_text())
    coco["annotations"][2]["bbox"] = [20, 4, 14, 10]  # right edge 34 on a 32 px image
    coco["annotations"][3]["bbox"][0] -= 0.9  # within a pixel: clipped, accepted
    (shapes / "coco.json").write_text(json.dumps(coco))
    with pytest.raises(DataError) as error:
        detection_coco(str(shapes / "coco.json"))
    image = shapes / coco["images"][coco["annotations"][2]["image_id"] - 1]["file_name"]
    assert str(error.value) == (
        f"{shapes / 'coco.json'}: annotation id 3 (index 2), image {image.name}: "
        f"bbox [20, 4, 14, 10] lies outside the image {image} (32x32) by more than a pixel; "
        "fix the box or drop the annotation"
    )


def test_an_empty_voc_box_names_the_file_and_object(shapes: Path) -> None:
    file = shapes / "voc/shapes_0001.xml"
    tree = ElementTree.parse(file)
    box = list(tree.getroot().iter("bndbox"))[-1]
    x = str(int(box.findtext("xmin") or 0) - 1)  # VOC is inclusive: xmax = xmin is 1 px wide
    box.find("xmax").text = x  # type: ignore[union-attr]
    tree.write(file)
    number = len(list(tree.getroot().iter("object")))
    with pytest.raises(DataError) as error:
        detection_voc(str(shapes / "voc"))
    assert str(error.value) == (
        f"{file}: object {number}: xmin {box.findtext('xmin')} ymin {box.findtext('ymin')} "
        f"xmax {x} ymax "
        f"{box.findtext('ymax')} has no area (its right / bottom edge is not past its left / "
        "top one); fix the box or drop the annotation"
    )


def test_a_label_outside_the_class_list_names_the_manifest_line(shapes: Path) -> None:
    with pytest.raises(DataError) as error:
        detection_manifest(str(shapes / "boxes.csv"), classes=["circle", "square"])
    lines = (shapes / "boxes.csv").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if text.endswith(",triangle"))
    assert str(error.value) == (
        f"{shapes / 'boxes.csv'}:{line}: label 'triangle' is not in the class list "
        "['circle', 'square']; fix the label or add it to classes"
    )
    rows = (shapes / "boxes.jsonl").read_text().splitlines()
    row = json.loads(rows[4])
    row["labels"][0] = "circel"
    rows[4] = json.dumps(row)
    (shapes / "boxes.jsonl").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError) as error:
        detection_manifest(str(shapes / "boxes.jsonl"), classes=CLASSES[1:])
    assert str(error.value).startswith(
        f"{shapes / 'boxes.jsonl'}:5: box 1: label 'circel' is not in the class list"
    )


def test_augmentation_moves_boxes_with_the_image_seeded(shapes: Path) -> None:
    path = str(shapes / "boxes.jsonl")
    plain = detection_manifest(path, val_fraction=0.3)
    flipped = detection_manifest(
        path, val_fraction=0.3, augment=[{"RandomHorizontalFlip": {"p": 1}}]
    )
    for i in range(len(plain.train)):
        x, target = plain.train[i]
        fx, ftarget = flipped.train[(2, i)]
        assert torch.allclose(fx, x.flip(-1))
        mirrored = target["boxes"][:, [2, 1, 0, 3]] * torch.tensor([-1, 1, -1, 1]) + torch.tensor(
            [32, 0, 32, 0]
        )
        assert torch.equal(ftarget["boxes"], mirrored)
        assert torch.equal(ftarget["labels"], target["labels"])
    # A zoom out and a crop that can cut boxes away: labels and crowd flags follow the boxes
    # SanitizeBoundingBoxes keeps; the same (epoch, index) gives the same sample.
    jitter = detection_manifest(
        path,
        val_fraction=0.3,
        augment=[{"RandomZoomOut": {"side_range": [1.0, 2.0]}}, {"RandomCrop": {"size": [24, 24]}}],
    )
    for i in range(len(jitter.train)):
        x, target = jitter.train[(1, i)]
        again = jitter.train[(1, i)]
        assert torch.equal(x, again[0]) and torch.equal(target["boxes"], again[1]["boxes"])
        assert x.shape == (3, 24, 24)
        n = len(target["boxes"])
        assert len(target["labels"]) == n and len(target["iscrowd"]) == n
        boxes = target["boxes"].numpy()
        assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] <= 24)
