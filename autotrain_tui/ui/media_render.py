"""Turning a run's PNG into what the media panel draws: half-block cells, or pixels.

Decoding and resizing run in a thread (the panel's worker), never on the event loop: a
1024 px PNG takes tens of milliseconds to decode, which would freeze keys. The result is
cached by (file, size) by the panel: a file of `media/` never changes once renamed into
place (the recipe writes a new name each time), so its name and the cell size say it all.

Half blocks: each cell is `▀` with the upper pixel as foreground and the lower as
background, so a cell holds two pixels stacked (cells are about twice as tall as wide,
which keeps the aspect). The output is the same on every machine (Pillow's resize is
deterministic), which the snapshot tests rely on. Colours are rounded to multiples of 8 per
channel: neighbouring cells then share a style more often, and Textual writes one colour
change per run of equal cells instead of one per cell (fewer bytes over SSH; see
bench/terminal_output.py --media).

Real pixels (Sixel, Kitty's graphics protocol) go through `textual-image`, chosen by
`image_protocol`: from the environment only, because textual-image detects support by
querying the terminal, which is impossible once Textual owns stdin, and would cost every
start-up a round trip (two 0.1 s timeouts on terminals that do not answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

if TYPE_CHECKING:
    from PIL import Image

PROTOCOL_ENV = "AUTOTRAIN_TUI_IMAGES"  # halfblock | sixel | kitty | auto (the default)
PROTOCOLS = ("halfblock", "sixel", "kitty")
HALF_BLOCK = "▀"
COLOUR_STEP = 8  # channel values rounded to multiples of this (see the module docstring)


class UndrawableImage(Exception):
    """A PNG that cannot be drawn (corrupt, half-written, not an image): one line says why."""


@dataclass(frozen=True)
class HalfBlocks:
    """An image as rows of half-block cells, ready for `render_line`."""

    width: int
    height: int
    lines: tuple[Strip, ...]


def image_protocol(environ: Mapping[str, str]) -> str:
    """How to draw images on this terminal: `AUTOTRAIN_TUI_IMAGES` if set to one of
    PROTOCOLS, else what the terminal says of itself (kitty sets TERM=xterm-kitty, foot and
    mlterm draw Sixel, WezTerm draws Sixel), else half blocks, which every terminal shows.
    tmux passes none of these through by default, and over SSH pixels cost too much
    (bench/media_output.py): there, half blocks unless asked for."""
    chosen = environ.get(PROTOCOL_ENV, "auto").strip().lower()
    if chosen in PROTOCOLS:
        return chosen
    if environ.get("TMUX") or environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"):
        # Over SSH one image in pixels is 190-240 KB (35 s at 56 kbit/s), and textual-image
        # sends it again on every repaint: half blocks unless asked for.
        return "halfblock"
    term = environ.get("TERM", "")
    if term == "xterm-kitty" or environ.get("KITTY_WINDOW_ID"):
        return "kitty"
    if term.startswith(("foot", "mlterm")) or environ.get("TERM_PROGRAM") == "WezTerm":
        return "sixel"
    return "halfblock"


def fit(width: int, height: int, cols: int, rows: int) -> tuple[int, int]:
    """The pixel size of a `width`x`height` image scaled to fit `cols`x`rows` half-block
    cells (two pixels a cell, stacked), aspect kept, at least one cell."""
    scale = min(cols / width, 2 * rows / height)
    target_w = max(1, min(cols, round(width * scale)))
    target_h = max(2, min(2 * rows, round(height * scale)))
    return target_w, target_h + target_h % 2


def load_rgb(path: Path) -> Image.Image:
    """The image at `path`, fully decoded to RGB; `UndrawableImage` if it cannot be."""
    from PIL import Image  # not at start-up: the first image needs it

    try:
        with Image.open(path) as image:
            image.load()  # a truncated file fails here, not later on the event loop
            return image.convert("RGB")
    except FileNotFoundError as error:
        raise UndrawableImage(f"{path.name} is gone (deleted by retention?)") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise UndrawableImage(f"{path.name} cannot be read: {error}") from error


def _colour(pixel: bytes) -> Color:
    r, g, b = (min(255, round(c / COLOUR_STEP) * COLOUR_STEP) for c in pixel)
    return Color.from_rgb(r, g, b)


def half_blocks(path: Path, cols: int, rows: int) -> HalfBlocks:
    """`path` decoded and resized to fit `cols`x`rows` cells, as half-block strips."""
    from PIL import Image

    image = load_rgb(path)
    width, height = fit(image.width, image.height, cols, rows)
    shrinking = width < image.width
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.NEAREST
    small = image.resize((width, height), resample)
    data = small.tobytes()  # RGB, row after row
    stride = 3 * width
    lines = []
    for y in range(0, height, 2):
        top, bottom = data[y * stride : (y + 1) * stride], data[(y + 1) * stride : (y + 2) * stride]
        segments = [
            Segment(
                HALF_BLOCK, Style(color=_colour(top[x : x + 3]), bgcolor=_colour(bottom[x : x + 3]))
            )
            for x in range(0, stride, 3)
        ]
        lines.append(Strip(Segment.simplify(segments), width))
    return HalfBlocks(width, height // 2, tuple(lines))


def pixel_image(path: Path, cols: int, rows: int, cell: tuple[int, int]) -> Image.Image:
    """`path` decoded and shrunk to what `cols`x`rows` cells of `cell` pixels can show, for
    the Sixel / Kitty paths: the terminal gets no more pixels than it can display."""
    from PIL import Image

    image = load_rgb(path)
    image.thumbnail((max(1, cols * cell[0]), max(1, rows * cell[1])), Image.Resampling.LANCZOS)
    return image


def prepare_pixels() -> None:
    """Import textual-image before Textual takes the terminal, when images will be drawn
    as pixels: on import it asks the terminal whether it draws Sixel or Kitty graphics and
    its cell size in pixels, which cannot be done once Textual reads stdin. Half blocks
    (the default) import nothing."""
    import os

    if image_protocol(os.environ) != "halfblock":
        import textual_image.widget  # noqa: F401
