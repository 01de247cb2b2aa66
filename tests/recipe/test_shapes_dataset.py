"""scripts/make_shapes_dataset.py: the seeded multi-shape set, its masks, labels and boxes
in every format, each well-formed and consistent with the masks (read back from the files)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image

from scripts.make_shapes_dataset import CLASSES, IGNORE, write_dataset
from tests.helpers import REPO


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shapes")
    result = subprocess.run(
        [
            sys.executable,
            "scripts/make_shapes_dataset.py",
            str(out),
            "--images",
            "40",
            "--size",
            "48",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote 40 images with masks, labels and boxes to {out}" in result.stdout
    return out


def mask(root: Path, folder: str, relative: str) -> np.ndarray:
    return np.array(Image.open(root / folder / Path(relative).name))


def test_the_same_seed_writes_the_same_bytes_and_another_seed_other_images(
    shapes: Path, tmp_path: Path
) -> None:
    write_dataset(tmp_path / "again", images=40, size=48, seed=0)
    write_dataset(tmp_path / "other", images=3, size=48, seed=1)
    for name in ("images/shapes_0007.png", "masks/shapes_0007.png", "coco.json", "boxes.jsonl"):
        assert (shapes / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    first = shapes / "images/shapes_0000.png"
    assert first.read_bytes() != (tmp_path / "other/images/shapes_0000.png").read_bytes()
    image = Image.open(first)
    assert image.size == (48, 48) and image.mode == "RGB"


def test_multilabels_are_the_classes_in_each_mask(shapes: Path) -> None:
    with (shapes / "multilabel.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    jsonl = [json.loads(line) for line in (shapes / "multilabel.jsonl").read_text().splitlines()]
    assert len(rows) == len(jsonl) == 40
    counts = {name: 0 for name in CLASSES}
    for row, item in zip(rows, jsonl, strict=True):
        labels = row["labels"].split()
        assert item == {"path": row["path"], "labels": labels}
        values = mask(shapes, "masks", row["path"])
        present = [CLASSES[v - 1] for v in sorted(set(np.unique(values)) - {0})]
        assert labels == present, row
        assert labels, "every image has at least one shape"
        for label in labels:
            counts[label] += 1
    assert all(count >= 5 for count in counts.values()), counts
    assert any(len(row["labels"].split()) > 1 for row in rows)  # several per image
    assert (shapes / "classes.txt").read_text().split() == list(CLASSES)


def test_boxes_agree_across_coco_voc_and_jsonl_and_with_the_masks(shapes: Path) -> None:
    coco = json.loads((shapes / "coco.json").read_text())
    assert coco["categories"] == [{"id": i + 1, "name": n} for i, n in enumerate(CLASSES)]
    by_image: dict[int, list[dict[str, object]]] = {}
    for annotation in coco["annotations"]:
        by_image.setdefault(int(annotation["image_id"]), []).append(annotation)
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])
    rows = [json.loads(line) for line in (shapes / "boxes.jsonl").read_text().splitlines()]
    assert len(rows) == len(coco["images"]) == 40
    for row, image in zip(rows, coco["images"], strict=True):
        assert image["file_name"] == row["path"] and (shapes / row["path"]).is_file()
        assert image["width"] == image["height"] == row["width"] == row["height"] == 48
        semantic = mask(shapes, "masks", row["path"])
        instances = mask(shapes, "instances", row["path"])
        annotations = by_image[image["id"]]
        assert len(annotations) == len(row["boxes"]) == len(row["labels"]) >= 1
        voc = ElementTree.parse(shapes / "voc" / (Path(row["path"]).stem + ".xml")).getroot()
        assert voc.findtext("filename") == row["path"]
        assert voc.findtext("size/width") == "48" and voc.findtext("size/depth") == "3"
        objects = voc.findall("object")
        assert len(objects) == len(row["boxes"])
        for k, (box, label, annotation, obj) in enumerate(
            zip(row["boxes"], row["labels"], annotations, objects, strict=True), start=1
        ):
            x0, y0, x1, y1 = box
            assert 0 <= x0 < x1 <= 48 and 0 <= y0 < y1 <= 48  # inside, positive area
            # The tight box of the k-th instance, all of whose pixels are of its class.
            ys, xs = np.nonzero(instances == k)
            assert [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == box
            assert set(np.unique(semantic[instances == k])) == {CLASSES.index(label) + 1}
            assert annotation["bbox"] == [x0, y0, x1 - x0, y1 - y0]
            assert annotation["category_id"] == CLASSES.index(label) + 1
            assert annotation["area"] == len(xs) and annotation["iscrowd"] == 0
            assert obj.findtext("name") == label
            voc_box = [
                int(obj.findtext(f"bndbox/{t}") or 0) for t in ("xmin", "ymin", "xmax", "ymax")
            ]
            assert voc_box == [x0 + 1, y0 + 1, x1, y1]
        assert set(np.unique(instances)) == set(range(len(row["boxes"]) + 1))


def test_ignore_border_marks_only_the_edges_of_shapes(tmp_path: Path) -> None:
    write_dataset(tmp_path, images=6, size=48, seed=3, ignore_border=True)
    plain = tmp_path / "plain"
    write_dataset(plain, images=6, size=48, seed=3)
    for index in range(6):
        bordered = np.array(Image.open(tmp_path / f"masks/shapes_{index:04d}.png"))
        original = np.array(Image.open(plain / f"masks/shapes_{index:04d}.png"))
        edge = bordered == IGNORE
        assert edge.any()
        assert np.array_equal(bordered[~edge], original[~edge])  # elsewhere unchanged
        # Every ignored pixel has a neighbour of another class in the original mask.
        padded = np.pad(original, 1, mode="edge")
        for y, x in zip(*np.nonzero(edge), strict=True):
            assert len(set(padded[y : y + 3, x : x + 3].flatten())) > 1


def test_bad_arguments_exit_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/make_shapes_dataset.py", str(tmp_path), "--size", "4"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "make_shapes_dataset: images and max_shapes must be at least 1 and size at least 16"
    ]
