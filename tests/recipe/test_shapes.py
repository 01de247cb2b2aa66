"""The coloured-shapes image folder generator: real files, the same bytes for the same seed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from PIL import Image

from recipe.vision.shapes import write_shapes
from tests.helpers import recipe_env


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_command_writes_an_image_folder_of_three_classes(tmp_path: Path) -> None:
    out = tmp_path / "shapes"
    command = [sys.executable, "-m", "recipe.vision.shapes", str(out), "--per-class", "5"]
    result = subprocess.run(
        [*command, "--size", "24", "--seed", "3"],
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote 15 images to {out}\n"
    assert sorted(p.name for p in out.iterdir()) == ["circle", "square", "triangle"]
    for folder in out.iterdir():
        files = sorted(folder.iterdir())
        assert len(files) == 5 and all(f.suffix == ".png" for f in files)
        for file in files:
            with Image.open(file) as image:
                assert image.size == (24, 24) and image.mode == "RGB"
    # Pillow and NumPy only: writing a few hundred images never waits for torch's import.
    probe = "import sys, recipe.vision.shapes; print('torch' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=recipe_env(), capture_output=True, text=True
    )
    assert loaded.stdout == "False\n", loaded.stderr


def test_same_seed_same_bytes_other_seed_other_images(tmp_path: Path) -> None:
    write_shapes(tmp_path / "a", per_class=4, size=16, seed=7)
    write_shapes(tmp_path / "b", per_class=4, size=16, seed=7)
    write_shapes(tmp_path / "c", per_class=4, size=16, seed=8)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    other = digest(tmp_path / "c")
    assert set(other) == set(digest(tmp_path / "a"))
    assert not set(other.values()) & set(digest(tmp_path / "a").values())
    # An image does not depend on how many others are written: the first 2 of 4 are the same.
    write_shapes(tmp_path / "d", per_class=2, size=16, seed=7)
    first_two = digest(tmp_path / "d")
    assert first_two == {k: v for k, v in digest(tmp_path / "a").items() if k in first_two}


def test_images_differ_and_classes_look_different(tmp_path: Path) -> None:
    import numpy as np

    paths = write_shapes(
        tmp_path, per_class=3, size=32, classes=("circle", "star"), image_format="jpg"
    )
    assert [p.suffix for p in paths] == [".jpg"] * 6
    pixels = [np.asarray(Image.open(p), dtype=np.float32) for p in paths]
    assert len({a.tobytes() for a in pixels}) == 6
    for image in pixels:  # a shape on a background: far from a flat image
        assert image.std() > 10


def test_a_mistake_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "recipe.vision.shapes", str(tmp_path), "--classes", "circle,blob"],
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "shapes: unknown shape classes ['blob']; choose from "
        "['circle', 'square', 'triangle', 'star']\n"
    )
    assert not list(tmp_path.iterdir())
