"""Box annotations read from COCO JSON, Pascal VOC XML and JSONL / CSV manifests, validated.

Every format is read into the same records (an image and its boxes, each box with where it
came from), then `validate` turns them into arrays for training while checking each box:
inside its image within one pixel (then clipped to it), a positive area, a label in the
class list. A bad box stops the build with one line naming the file, the annotation (COCO:
its id and index; VOC: the object's number; a manifest: its line and the box's number)
and the fix: a detector trained on a box off the image or of zero area learns nonsense
silently, and a typo in a label must not become a silent extra class.

Boxes are held as `[x1, y1, x2, y2]` in pixels, x2 / y2 exclusive (torchvision's XYXY):
COCO's `[x, y, width, height]` and VOC's 1-based inclusive corners are converted on read.
COCO's `iscrowd: 1` boxes and VOC's `difficult` objects are kept apart as *crowd* boxes:
never a training target, and ignored by the metric (a detection on one is neither right
nor wrong), as COCO and VOC evaluate them.
"""

from __future__ import annotations

import csv as csv_module
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np

from recipe.data import tables
from recipe.data.errors import DataError

BACKGROUND = "background"  # label 0, as torchvision's detectors expect
CSV_COLUMNS = ("path", "x1", "y1", "x2", "y2", "label")


@dataclass
class Box:
    """One annotated box: where it is written, as written, in XYXY, its label, crowd."""

    where: str  # "annotation id 7 (index 6)", "object 2", "box 1"
    written: str  # the coordinates as the file has them, for messages
    xyxy: tuple[float, float, float, float]
    label: str
    crowd: bool = False
    at: str | None = None  # where to say it is, when not "<file>: <where>" (a CSV line)


@dataclass
class ImageRecord:
    """An image and its boxes; `source` is the file (and line) that lists them."""

    source: str
    path: Path
    boxes: list[Box] = field(default_factory=list)


Annotation = tuple[np.ndarray, np.ndarray, np.ndarray]  # boxes (N, 4), labels (N,), crowd (N,)


def read_coco(path: Path, images: Path) -> tuple[list[ImageRecord], list[str]]:
    """A COCO detection file: its images (file names relative to `images`) and categories.

    Categories are sorted by id and mapped to the labels 1..K (ids need not be contiguous).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}:{error.colno}: not JSON ({error.msg})") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise DataError(f"{path}: not a COCO detection file (no {key!r} list)")
    categories = sorted(data["categories"], key=lambda c: c["id"])
    names = {c["id"]: str(c["name"]) for c in categories}
    records: dict[Any, ImageRecord] = {}
    for entry in data["images"]:
        records[entry["id"]] = ImageRecord(str(path), images / entry["file_name"])
    for index, ann in enumerate(data["annotations"]):
        where = f"annotation id {ann.get('id')} (index {index})"
        record = records.get(ann.get("image_id"))
        if record is None:
            raise DataError(
                f"{path}: {where}: image_id {ann.get('image_id')!r} is not in 'images'; "
                "fix the image_id or add the image"
            )
        if ann.get("category_id") not in names:
            raise DataError(
                f"{path}: {where}: category_id {ann.get('category_id')!r} is not in "
                f"'categories' (ids {sorted(names)}); fix the category_id or add the category"
            )
        bbox = ann.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4):
            raise DataError(f"{path}: {where}: 'bbox' must be [x, y, width, height]")
        x, y, w, h = map(float, bbox)
        record.boxes.append(
            Box(
                f"{where}, image {record.path.name}",
                f"bbox {bbox}",
                (x, y, x + w, y + h),
                names[ann["category_id"]],
                bool(ann.get("iscrowd", 0)),
            )
        )
    return list(records.values()), [names[c["id"]] for c in categories]


def read_voc(folder: Path, images: Path) -> list[ImageRecord]:
    """Every `*.xml` of a Pascal VOC annotation folder (`filename` relative to `images`)."""
    files = sorted(folder.glob("*.xml"))
    if not files:
        raise DataError(f"{folder}: no Pascal VOC .xml files")
    records = []
    for file in files:
        try:
            root = ElementTree.parse(file).getroot()
        except ElementTree.ParseError as error:
            line, col = error.position
            raise DataError(f"{file}:{line}:{col}: not XML ({error})") from None
        name = root.findtext("filename")
        if not name:
            raise DataError(f"{file}: no <filename>; name the image this file annotates")
        record = ImageRecord(str(file), images / name.strip())
        for number, item in enumerate(root.iter("object"), start=1):
            where = f"object {number}"
            box = item.find("bndbox")
            try:
                assert box is not None
                corners = [float(box.findtext(t) or "") for t in ("xmin", "ymin", "xmax", "ymax")]
            except (AssertionError, ValueError):
                raise DataError(
                    f"{file}: {where}: needs <bndbox> with numeric xmin, ymin, xmax, ymax"
                ) from None
            x1, y1, x2, y2 = corners  # VOC: 1-based, inclusive
            record.boxes.append(
                Box(
                    where,
                    f"xmin {x1:g} ymin {y1:g} xmax {x2:g} ymax {y2:g}",
                    (x1 - 1, y1 - 1, x2, y2),
                    (item.findtext("name") or "").strip(),
                    (item.findtext("difficult") or "0").strip() == "1",
                )
            )
        records.append(record)
    return records


def read_manifest(path: Path) -> list[ImageRecord]:
    """A JSONL manifest (`{"path", "boxes": [[x1, y1, x2, y2], ...], "labels": [...]}`) or a
    CSV one (`path,x1,y1,x2,y2,label`, a box a row; empty box cells: an image without boxes)."""
    records: dict[str, ImageRecord] = {}
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{where}: not JSON ({error.msg})") from None
                boxes, labels = row.get("boxes", []), row.get("labels", [])
                if not isinstance(row.get("path"), str) or len(boxes) != len(labels):
                    raise DataError(
                        f'{where}: expected {{"path": ..., "boxes": [[x1, y1, x2, y2], '
                        '...], "labels": [...]}} with one label per box'
                    )
                record = ImageRecord(where, path.parent / row["path"])
                for n, (box, label) in enumerate(zip(boxes, labels, strict=True), start=1):
                    if not (isinstance(box, list) and len(box) == 4):
                        raise DataError(f"{where}: box {n}: write it as [x1, y1, x2, y2]")
                    x1, y1, x2, y2 = map(float, box)
                    record.boxes.append(Box(f"box {n}", str(box), (x1, y1, x2, y2), str(label)))
                records[f"{where}"] = record
    else:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            dialect = tables.csv_dialect(handle.read(8192))
            handle.seek(0)
            reader = csv_module.DictReader(handle, dialect=dialect)
            reader.fieldnames = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in CSV_COLUMNS if c not in reader.fieldnames]
            if missing:
                raise DataError(f"{path}: no column(s) {missing}; the columns: {CSV_COLUMNS}")
            for row in reader:
                where = f"{path}:{reader.line_num}"
                name = (row["path"] or "").strip()
                if not name:
                    raise DataError(f"{where}: 'path' is missing or empty")
                record = records.setdefault(name, ImageRecord(where, path.parent / name))
                cells = [(row[c] or "").strip() for c in CSV_COLUMNS[1:5]]
                if not any(cells):
                    continue  # an image listed without boxes
                try:
                    x1, y1, x2, y2 = map(float, cells)
                except ValueError:
                    raise DataError(f"{where}: x1, y1, x2, y2 must be numbers") from None
                label = (row["label"] or "").strip()
                written = f"[{', '.join(cells)}]"
                record.boxes.append(Box("box", written, (x1, y1, x2, y2), label, at=where))
    if not records:
        raise DataError(f"{path}: the manifest lists no images")
    return list(records.values())


def image_size(path: Path, source: str) -> tuple[int, int]:
    """(width, height) from the file's header (cheap); one line when it is not an image."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise DataError(
            f"{source}: {path}: no such image file; fix the path (COCO file_name and VOC "
            "filename are relative to `images`, manifest paths to the manifest's folder)"
        )
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(f"{source}: {path}: cannot read this image ({error})") from None


def validate(
    records: list[ImageRecord], class_names: list[str], tolerance: float = 1.0
) -> list[Annotation]:
    """Each image's boxes as arrays (labels index `class_names`, 0 = background), checked.

    A box may stick out of its image by up to `tolerance` pixels (rounding in tools that
    write boxes) and is then clipped to it; more is an error, as are an empty box and a
    label outside `class_names`.
    """
    lookup = {name: i for i, name in enumerate(class_names) if i > 0}
    out: list[Annotation] = []
    for record in records:
        width, height = image_size(record.path, record.source)
        boxes, labels, crowd = [], [], []
        for box in record.boxes:
            at = box.at or f"{record.source}: {box.where}"
            if box.label not in lookup:
                raise DataError(
                    f"{at}: label {box.label!r} is not in the class list {class_names[1:]}; "
                    "fix the label or add it to classes"
                )
            x1, y1, x2, y2 = box.xyxy
            if not (x2 > x1 and y2 > y1):
                raise DataError(
                    f"{at}: {box.written} has no area (its right / bottom edge is not past "
                    "its left / top one); fix the box or drop the annotation"
                )
            inside = min(x1, y1) >= -tolerance and x2 <= width + tolerance
            if not (inside and y2 <= height + tolerance):
                raise DataError(
                    f"{at}: {box.written} lies outside the image {record.path} "
                    f"({width}x{height}) by more than a pixel; fix the box or drop the annotation"
                )
            boxes.append([max(x1, 0.0), max(y1, 0.0), min(x2, width), min(y2, height)])
            labels.append(lookup[box.label])
            crowd.append(box.crowd)
        out.append(
            (
                np.array(boxes, dtype=np.float32).reshape(-1, 4),
                np.array(labels, dtype=np.int64),
                np.array(crowd, dtype=bool),
            )
        )
    return out
