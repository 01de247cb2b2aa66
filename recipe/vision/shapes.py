"""A small, real-looking image dataset written on demand: coloured shapes on noisy ground.

    python -m recipe.vision.shapes OUT [--per-class N] [--size S] [--seed K] [--format png|jpg]

writes `OUT/circle/circle_0000.png`, `OUT/square/...`, `OUT/triangle/...` (an image folder:
one subfolder per class), so examples, tests and benchmarks train on real image files
without shipping or downloading any. Every image has its own random background colour with
pixel noise and a smooth gradient, and one shape of a random colour, size, position and
rotation, drawn at twice the size and downsampled (anti-aliased edges, like a photo).
The same seed writes the same bytes, and a different seed a disjoint-looking set (use one
seed for training and another for held-out images).

Pillow and NumPy only: no torch, so several hundred images take a second or two.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
DEFAULT_CLASSES: tuple[str, ...] = SHAPES[:3]
FORMATS = {"png": "PNG", "jpg": "JPEG"}


def colour(rng: np.random.Generator, away_from: np.ndarray | None = None) -> np.ndarray:
    """A random RGB colour, at least a visible distance from `away_from` when given."""
    while True:
        value = rng.integers(0, 256, size=3)
        if away_from is None or np.abs(value - away_from).sum() >= 180:
            return value


def outline(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if kind == "square":
        corners = [angle + math.pi / 4 + k * math.pi / 2 for k in range(4)]
        return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in corners]
    if kind == "triangle":
        corners = [angle + k * 2 * math.pi / 3 for k in range(3)]
        return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in corners]
    # star: five points, inner radius 0.45 r
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else 0.45 * r
        a = angle + k * math.pi / 5
        points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    return points


def textured_ground(big: int, rng: np.random.Generator) -> tuple[Image.Image, np.ndarray]:
    """A `big` x `big` RGB background and its base colour: a gradient across the image plus
    per-pixel noise, so no two backgrounds are flat alike."""
    background = colour(rng)
    ramp = np.linspace(-1.0, 1.0, big)
    direction = rng.uniform(0, 2 * math.pi)
    gradient = np.cos(direction) * ramp[None, :] + np.sin(direction) * ramp[:, None]
    tint = rng.uniform(-40, 40, size=3)
    ground = background + gradient[..., None] * tint + rng.normal(0, 12, size=(big, big, 3))
    return Image.fromarray(np.clip(ground, 0, 255).astype(np.uint8), "RGB"), background


def draw_shape(kind: str, size: int, rng: np.random.Generator) -> Image.Image:
    """One `size` x `size` RGB image of a `kind` shape, every choice drawn from `rng`."""
    big = 2 * size
    image, background = textured_ground(big, rng)
    fill = tuple(int(c) for c in colour(rng, away_from=background))
    r = rng.uniform(0.18, 0.4) * big
    cx, cy = rng.uniform(r, big - r, size=2)
    pen = ImageDraw.Draw(image)
    if kind == "circle":
        pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    else:
        pen.polygon(outline(kind, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=fill)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def write_shapes(
    out: str | Path,
    *,
    per_class: int = 100,
    size: int = 64,
    seed: int = 0,
    classes: Sequence[str] = DEFAULT_CLASSES,
    image_format: str = "png",
) -> list[Path]:
    """Write `per_class` images of each class under `out/<class>/`; returns their paths.

    Each image's randomness comes from (seed, class, index) alone, so a file's content
    does not depend on how many others are written or in what order.
    """
    unknown = [c for c in classes if c not in SHAPES]
    if unknown:
        raise ValueError(f"unknown shape classes {unknown}; choose from {list(SHAPES)}")
    if image_format not in FORMATS:
        raise ValueError(f"unknown image format {image_format!r}; choose from {list(FORMATS)}")
    if per_class < 1 or size < 8:
        raise ValueError("per_class must be at least 1 and size at least 8")
    root = Path(out)
    paths: list[Path] = []
    for kind in classes:
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            rng = np.random.default_rng([seed, SHAPES.index(kind), index])
            path = folder / f"{kind}_{index:04d}.{image_format}"
            options = {"quality": 90} if image_format == "jpg" else {}
            draw_shape(kind, size, rng).save(path, FORMATS[image_format], **options)
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recipe.vision.shapes",
        description="Write an image folder of coloured shapes (one subfolder per class).",
    )
    parser.add_argument("out", help="folder to write the class subfolders into")
    parser.add_argument("--per-class", type=int, default=100, help="images per class (100)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--classes",
        default=",".join(DEFAULT_CLASSES),
        help=f"comma-separated, from {','.join(SHAPES)} (default {','.join(DEFAULT_CLASSES)})",
    )
    parser.add_argument("--format", choices=tuple(FORMATS), default="png", help="png or jpg")
    args = parser.parse_args(argv)
    try:
        paths = write_shapes(
            args.out,
            per_class=args.per_class,
            size=args.size,
            seed=args.seed,
            classes=[c.strip() for c in args.classes.split(",") if c.strip()],
            image_format=args.format,
        )
    except ValueError as exc:
        print(f"shapes: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(paths)} images to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
