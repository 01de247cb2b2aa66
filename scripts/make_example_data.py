"""Regenerates the small example data shipped in examples/ (run once; outputs are committed).

- examples/diabetes.csv: scikit-learn's diabetes data as a CSV with a header (regression).
- examples/digit_images/<class>/*.png: 40 digits per class as 8x8 grayscale PNGs, the
  shape of a user's image folder (one subfolder per class).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_diabetes, load_digits

ROOT = Path(__file__).resolve().parent.parent / "examples"


def write_diabetes_csv() -> None:
    raw = load_diabetes()
    path = ROOT / "diabetes.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*raw.feature_names, "progression"])
        for row, target in zip(raw.data, raw.target, strict=True):
            writer.writerow([f"{v:.6f}" for v in row] + [f"{target:.1f}"])


def write_digit_images(per_class: int = 40) -> None:
    raw = load_digits()
    for label in range(10):
        folder = ROOT / "digit_images" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        indices = np.flatnonzero(raw.target == label)[:per_class]
        for n, index in enumerate(indices):
            pixels = (raw.images[index] / 16.0 * 255).astype(np.uint8)
            Image.fromarray(pixels, mode="L").save(folder / f"{n:03d}.png")


if __name__ == "__main__":
    ROOT.mkdir(exist_ok=True)
    write_diabetes_csv()
    write_digit_images()
