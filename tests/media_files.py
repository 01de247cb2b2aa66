"""Writing a run's `media/` as the recipe does, for tests of its readers (the media panel).

Follows docs/run-directory.md's `media/` contract: each PNG
`<kind>-s<step:07d>-<n>.png` is written to a temporary name and renamed into place
complete, *then* one line is appended to `media/index.jsonl`:
`{"step", "epoch", "kind", "file", "caption", "time"}` with `file` relative to `media/`.
Real PNGs (Pillow), small and of plain shapes, so a test can tell which one is drawn.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PIL import Image, ImageDraw

Colour = tuple[int, int, int]


def media_name(kind: str, step: int, n: int) -> str:
    return f"{kind}-s{step:07d}-{n}.png"


def write_png(path: Path, colour: Colour, size: tuple[int, int] = (48, 32)) -> None:
    """A `colour` image with a white diagonal band, renamed into place complete."""
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).line([(0, 0), (size[0] - 1, size[1] - 1)], fill=(255, 255, 255), width=3)
    partial = path.with_name(f".{path.name}.tmp")
    image.save(partial, format="PNG")
    os.replace(partial, path)


def add_media(
    run_dir: Path,
    step: int,
    colour: Colour,
    *,
    epoch: int = 0,
    kind: str = "predictions",
    n: int = 0,
    caption: str = "",
    size: tuple[int, int] = (48, 32),
    when: float = 0.0,
) -> str:
    """One image and its index line, in the contract's order; the file's name."""
    media = run_dir / "media"
    media.mkdir(exist_ok=True)
    name = media_name(kind, step, n)
    write_png(media / name, colour, size)
    append_index(
        run_dir,
        {
            "step": step,
            "epoch": epoch,
            "kind": kind,
            "file": name,
            "caption": caption,
            "time": when,
        },
    )
    return name


def append_index(run_dir: Path, line: dict[str, object] | str) -> None:
    """Append one line (an object, or raw text for junk and torn lines) to the index."""
    text = line if isinstance(line, str) else json.dumps(line) + "\n"
    with (run_dir / "media" / "index.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(text)
