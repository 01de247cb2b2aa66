"""A seeded synthetic data set for multi-label, segmentation and detection: several shapes
per image on textured ground, with every annotation format the recipe reads.

    python scripts/make_shapes_dataset.py OUT [--images N] [--size S] [--seed K]

writes, for `N` images `OUT/images/shapes_0000.png`, ...:

- `masks/<stem>.png`: semantic mask, one byte per pixel, the class index (0 = background,
  1 = circle, 2 = square, 3 = triangle; with `--ignore-border`, 255 on each shape's border
  pixels, where the anti-aliased image is neither shape nor ground).
- `instances/<stem>.png`: instance mask, 0 = background, k = the image's k-th shape.
- `multilabel.csv` (`path,labels`, labels separated by spaces) and `multilabel.jsonl`
  (`{"path": ..., "labels": [...]}`): the classes present in each image.
- `boxes.jsonl` (`{"path", "width", "height", "boxes": [[x0, y0, x1, y1], ...], "labels"}`),
  `coco.json` (COCO: images, annotations with `bbox` [x, y, w, h], `area`, `iscrowd` 0,
  `segmentation`: the outline polygon, or for circles the instance mask as uncompressed RLE;
  categories 1..3) and `voc/<stem>.xml` (Pascal VOC): the same boxes, each the
  tight box of that shape's pixels in the instance mask, in pixels, x1/y1 exclusive
  (VOC: 1-based inclusive, as VOC writes them); `boxes.csv` (`path,x1,y1,x2,y2,label`,
  a box a row) the same as a CSV manifest.
- `classes.txt`: the class names, one a line, in index order (index 1 first).

Shape colours are random by default (only the outline tells the class); `--class-colours`
draws each class in its own jittered hue on grey ground, a task small models learn in a
few CPU epochs (the tests and the quick examples use it).

Shapes are drawn at twice the size and downsampled (recipe.vision.shapes draws the same way
for the one-shape folders), the masks from the same outlines, so masks, boxes and pixels
agree. Shapes do not overlap (their circumscribed circles are apart), so each box is one
whole shape. Each image's randomness comes from (seed, index) alone. NumPy and Pillow only:
hundreds of images take a second or two.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

if __package__ in (None, ""):  # run as a file: the repository root, for `recipe`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recipe.vision.shapes import DEFAULT_CLASSES, colour, outline, textured_ground

CLASSES: tuple[str, ...] = DEFAULT_CLASSES  # circle, square, triangle: indices 1, 2, 3
IGNORE = 255
# --class-colours: each class in its own hue (jittered) on grey ground, so a model learns
# the task in a few CPU epochs (tests, quick examples); by default colours are random and
# only the outline tells the class.
CLASS_COLOURS = {"circle": (220, 50, 50), "square": (50, 190, 60), "triangle": (60, 80, 230)}


@dataclass(frozen=True)
class Shape:
    """One drawn shape: its class name and its box `[x0, y0, x1, y1]` (x1, y1 exclusive)."""

    label: str
    box: tuple[int, int, int, int]
    area: int
    # COCO `segmentation`: a polygon in pixel coordinates (squares, triangles), or the
    # instance mask as uncompressed RLE (circles, whose outline is no polygon).
    segmentation: object = None


def draw_scene(
    size: int,
    rng: np.random.Generator,
    max_shapes: int = 3,
    ignore_border: bool = False,
    class_colours: bool = False,
) -> tuple[Image.Image, np.ndarray, np.ndarray, list[Shape]]:
    """One image, its semantic mask, its instance mask and its shapes, drawn from `rng`."""
    big = 2 * size
    image, background = textured_ground(big, rng)
    if class_colours:
        image = image.convert("L").convert("RGB")
    semantic = Image.new("L", (big, big), 0)
    instances = Image.new("L", (big, big), 0)
    pen, sem_pen, inst_pen = (
        ImageDraw.Draw(image),
        ImageDraw.Draw(semantic),
        ImageDraw.Draw(instances),
    )
    placed: list[tuple[float, float, float]] = []
    kinds: list[str] = []
    polygons: list[list[float] | None] = []
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        kind = CLASSES[int(rng.integers(len(CLASSES)))]
        for _attempt in range(20):  # a free spot for this shape, else fewer shapes
            r = rng.uniform(0.12, 0.24) * big
            cx, cy = rng.uniform(r + 1, big - r - 1, size=2)
            if all(math.hypot(cx - x, cy - y) > r + q + 2 for x, y, q in placed):
                break
        else:
            continue
        placed.append((cx, cy, r))
        kinds.append(kind)
        if class_colours:
            jitter = rng.integers(-25, 26, size=3)
            fill = tuple(
                int(np.clip(c + j, 0, 255))
                for c, j in zip(CLASS_COLOURS[kind], jitter, strict=True)
            )
        else:
            fill = tuple(int(c) for c in colour(rng, away_from=background))
        index, number = CLASSES.index(kind) + 1, len(kinds)
        if kind == "circle":
            corners = (cx - r, cy - r, cx + r, cy + r)
            pen.ellipse(corners, fill=fill)
            sem_pen.ellipse(corners, fill=index)
            inst_pen.ellipse(corners, fill=number)
            polygons.append(None)
        else:
            points = outline(kind, cx, cy, r, rng.uniform(0, 2 * math.pi))
            pen.polygon(points, fill=fill)
            sem_pen.polygon(points, fill=index)
            inst_pen.polygon(points, fill=number)
            # Big pixel X is output pixel (X - 1) / 2 (nearest, 2x), whose centre is COCO's
            # (X - 1) / 2 + 0.5: the outline in COCO coordinates is the points halved.
            polygons.append([round(v / 2, 2) for point in points for v in point])
    image = image.resize((size, size), Image.Resampling.LANCZOS)
    semantic_small = np.array(semantic.resize((size, size), Image.Resampling.NEAREST))
    instance_small = np.array(instances.resize((size, size), Image.Resampling.NEAREST))
    if ignore_border:
        grown = np.array(Image.fromarray(semantic_small).filter(ImageFilter.MaxFilter(3)))
        shrunk = np.array(Image.fromarray(semantic_small).filter(ImageFilter.MinFilter(3)))
        semantic_small = np.where(grown != shrunk, IGNORE, semantic_small).astype(np.uint8)
    shapes = []
    for number, kind in enumerate(kinds, start=1):
        ys, xs = np.nonzero(instance_small == number)
        if len(xs) == 0:  # too small to keep a pixel at this size
            continue
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        polygon = polygons[number - 1]
        segmentation = [polygon] if polygon else _rle(instance_small == number)
        shapes.append(Shape(kind, box, len(xs), segmentation))
    return image, semantic_small, instance_small, shapes


def write_dataset(
    out: str | Path,
    *,
    images: int = 200,
    size: int = 64,
    seed: int = 0,
    max_shapes: int = 3,
    ignore_border: bool = False,
    class_colours: bool = False,
) -> list[Path]:
    """Write the data set described in the module docstring under `out`; returns the images."""
    if images < 1 or size < 16 or max_shapes < 1:
        raise ValueError("images and max_shapes must be at least 1 and size at least 16")
    root = Path(out)
    for folder in ("images", "masks", "instances", "voc"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    rows: list[tuple[str, list[str]]] = []
    box_rows: list[dict[str, object]] = []
    coco: dict[str, list[dict[str, object]]] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i, "name": n} for i, n in enumerate(CLASSES, start=1)],
    }
    for index in range(images):
        rng = np.random.default_rng([seed, index])
        image, semantic, instance, shapes = draw_scene(
            size, rng, max_shapes, ignore_border, class_colours
        )
        stem = f"shapes_{index:04d}"
        relative = f"images/{stem}.png"
        image.save(root / relative)
        Image.fromarray(semantic, "L").save(root / "masks" / f"{stem}.png")
        Image.fromarray(instance, "L").save(root / "instances" / f"{stem}.png")
        paths.append(root / relative)
        rows.append((relative, sorted({s.label for s in shapes}, key=CLASSES.index)))
        box_rows.append(
            {
                "path": relative,
                "width": size,
                "height": size,
                "boxes": [list(s.box) for s in shapes],
                "labels": [s.label for s in shapes],
            }
        )
        coco["images"].append(
            {"id": index + 1, "file_name": relative, "width": size, "height": size}
        )
        for shape in shapes:
            x0, y0, x1, y1 = shape.box
            coco["annotations"].append(
                {
                    "id": len(coco["annotations"]) + 1,
                    "image_id": index + 1,
                    "category_id": CLASSES.index(shape.label) + 1,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": shape.area,
                    "iscrowd": 0,
                    "segmentation": shape.segmentation,
                }
            )
        _write_voc(root / "voc" / f"{stem}.xml", relative, size, shapes)
    with (root / "multilabel.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "labels"])
        writer.writerows((path, " ".join(labels)) for path, labels in rows)
    with (root / "multilabel.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps({"path": p, "labels": ls}) + "\n" for p, ls in rows)
    with (root / "boxes.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in box_rows)
    with (root / "boxes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "x1", "y1", "x2", "y2", "label"])
        for row in box_rows:
            pairs = list(zip(row["boxes"], row["labels"], strict=True))  # type: ignore[call-overload]
            writer.writerows([row["path"], *box, label] for box, label in pairs)
            if not pairs:  # an image without boxes: listed with empty box cells
                writer.writerow([row["path"], "", "", "", "", ""])
    (root / "coco.json").write_text(json.dumps(coco), encoding="utf-8")
    (root / "classes.txt").write_text("".join(f"{c}\n" for c in CLASSES), encoding="utf-8")
    return paths


def _rle(mask: np.ndarray) -> dict[str, object]:
    """A binary mask as COCO's uncompressed RLE: run lengths in column-major order,
    starting with a run of zeros."""
    flat = mask.flatten(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [len(flat)]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0, *counts]
    return {"counts": counts, "size": list(mask.shape)}


def _write_voc(path: Path, relative: str, size: int, shapes: list[Shape]) -> None:
    annotation = ElementTree.Element("annotation")
    ElementTree.SubElement(annotation, "filename").text = relative
    dims = ElementTree.SubElement(annotation, "size")
    for tag, value in (("width", size), ("height", size), ("depth", 3)):
        ElementTree.SubElement(dims, tag).text = str(value)
    for shape in shapes:
        item = ElementTree.SubElement(annotation, "object")
        ElementTree.SubElement(item, "name").text = shape.label
        ElementTree.SubElement(item, "difficult").text = "0"
        box = ElementTree.SubElement(item, "bndbox")
        x0, y0, x1, y1 = shape.box  # VOC: 1-based, inclusive
        for tag, value in (("xmin", x0 + 1), ("ymin", y0 + 1), ("xmax", x1), ("ymax", y1)):
            ElementTree.SubElement(box, tag).text = str(value)
    ElementTree.ElementTree(annotation).write(path, encoding="utf-8", xml_declaration=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python scripts/make_shapes_dataset.py",
        description="Write shapes images with masks, multi-labels and boxes.",
    )
    parser.add_argument("out", help="folder to write into")
    parser.add_argument("--images", type=int, default=200, help="how many images (200)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--max-shapes", type=int, default=3, help="shapes per image, at most (3)")
    parser.add_argument(
        "--ignore-border", action="store_true", help="mark shape borders 255 in the masks"
    )
    parser.add_argument(
        "--class-colours", action="store_true", help="each class in its own hue on grey ground"
    )
    args = parser.parse_args(argv)
    try:
        paths = write_dataset(
            args.out,
            images=args.images,
            size=args.size,
            seed=args.seed,
            max_shapes=args.max_shapes,
            ignore_border=args.ignore_border,
            class_colours=args.class_colours,
        )
    except ValueError as exc:
        print(f"make_shapes_dataset: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(paths)} images with masks, labels and boxes to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
