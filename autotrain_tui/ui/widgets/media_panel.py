"""The dashboard's media panel: the newest image the run drew at validation, and older ones.

The dashboard's tail thread reads `media/index.jsonl` (`core.media.MediaIndex`) and hands the
list here (`show_items`). The panel follows the newest image until the user steps back
(`step`), shows its kind, step, epoch, caption and "n/m", and is hidden while the run has no
media (or after `toggle`). Decoding runs in a thread worker; the result is cached by (file,
size), so stepping back and forth or a repaint costs no decode, and the image is drawn
again only when the image shown or the panel's size changes.

Over a slow SSH link an image is most of what the dashboard sends (bench/terminal_output.py
--media): a new newest image replaces the shown one at most every `REPAINT_S` seconds (a
validation's burst of images becomes one repaint), a caption change costs a line.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from autotrain_tui.core.media import MediaItem
from autotrain_tui.ui.media_render import (
    PROTOCOL_ENV,
    HalfBlocks,
    UndrawableImage,
    half_blocks,
    image_protocol,
    pixel_image,
)

REPAINT_S = 10.0  # the newest image replaces the shown one at most this often
CACHE_SIZE = 16  # decoded images kept (by file and size): a few validations' worth


class HalfBlockImage(Widget):
    """Precomputed half-block strips; `render_line` only indexes them."""

    DEFAULT_CSS = "HalfBlockImage { width: 1fr; height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.blocks: HalfBlocks | None = None

    def show(self, blocks: HalfBlocks | None) -> None:
        if blocks is not self.blocks:
            self.blocks = blocks
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.blocks is None or y >= len(self.blocks.lines):
            return Strip.blank(width, self.rich_style)
        return self.blocks.lines[y].adjust_cell_length(width, self.rich_style)

    def on_resize(self) -> None:
        # The title can take another line (a longer caption): the image area changes
        # without the panel's size changing. Drawn again at the new size.
        if isinstance(self.parent, MediaPanel):
            self.parent.call_after_refresh(self.parent.redraw)


class MediaPanel(Vertical):
    """The shown run's images, newest first, with keys to step through them."""

    class Decoded(Message):
        """A worker decoded (or failed to decode) one image at one size."""

        def __init__(self, key: tuple[str, int, int], result: Any) -> None:
            super().__init__()
            self.key = key
            self.result = result

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_dir: Path | None = None
        self.items: list[MediaItem] = []
        self.position: int | None = None  # index into items; None follows the newest
        self.enabled = True  # the toggle key
        self.protocol = "halfblock"
        self.note = ""
        self._cache: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
        self._drawn: tuple[str, int, int] | None = None
        self._wanted: tuple[str, int, int] | None = None
        self._last_auto = 0.0
        self._pending: Timer | None = None
        self._shown_file: str | None = None
        self.display = False

    def compose(self) -> ComposeResult:
        # Tests and headless runs draw half blocks, the same on every machine.
        self.protocol = "halfblock" if self.app.is_headless else image_protocol(os.environ)
        yield Static("", id="media-title")
        if self.protocol == "halfblock":
            yield HalfBlockImage(id="media-image")
        else:
            yield _pixel_widget(self.protocol)
        yield Static("", id="media-note")

    # ---- state from the dashboard -----------------------------------------------------

    def show_run(self, run_dir: Path) -> None:
        """A new run: nothing shown until its tail lists its media."""
        self._cancel_pending()
        self.run_dir = run_dir
        self.items = []
        self.position = None
        self._shown_file = None
        if self._drawn is not None:  # nothing of the previous run's image stays
            self._drawn = None
            self._apply(None, None)
        self._update()

    def show_items(self, items: list[MediaItem]) -> None:
        """The run's images now listed (oldest first). While following the newest, a new
        newest image replaces the shown one at most every REPAINT_S seconds: meanwhile the
        shown one stays, its "n/m" counting the new ones (`]` shows them at once)."""
        current = self.current
        self.items = items
        files = [item.file for item in items]
        if self.position is not None:
            # Stay on the image being looked at (files vanish only from the old end).
            self.position = files.index(current.file) if current and current.file in files else None
        if self.position is None:
            self._cancel_pending()
        shown = self._shown_file
        if self.position is None and shown in files and files[-1] != shown:
            wait = self._last_auto + REPAINT_S - time.monotonic()
            if wait > 0:
                self.position = files.index(shown)
                self._pending = self.set_timer(wait, self._follow_newest)
        self._update()

    def _follow_newest(self) -> None:
        self._pending = None
        self.position = None
        self._update()

    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending.stop()
            self._pending = None

    @property
    def current(self) -> MediaItem | None:
        if not self.items:
            return None
        if self.position is None:
            return self.items[-1]
        return self.items[self.position]

    def step(self, delta: int) -> None:
        """Older (-1) or newer (+1); stepping past the newest follows it again."""
        if not self.items:
            return
        self._cancel_pending()  # the user chose what to look at
        now = len(self.items) - 1 if self.position is None else self.position
        target = max(0, min(len(self.items) - 1, now + delta))
        self.position = None if target == len(self.items) - 1 else target
        self._update()

    def toggle(self) -> None:
        self.enabled = not self.enabled
        self._update()

    # ---- drawing ----------------------------------------------------------------------

    def _update(self) -> None:
        self.display = self.enabled and bool(self.items)
        item = self.current
        if item is not None and item.file != self._shown_file and self.position is None:
            self._last_auto = time.monotonic()
        self._shown_file = item.file if item else None
        self._update_title()
        if self.display:
            self.call_after_refresh(self._draw)

    def _update_title(self) -> None:
        item = self.current
        if item is None:
            return
        number = len(self.items) if self.position is None else self.position + 1
        title = f"{item.kind} · step {item.step} · epoch {item.epoch} · {number}/{len(self.items)}"
        if self.position is None:
            title += " (newest)"
        caption = f"\n[dim]{_escape(item.caption)}[/]" if item.caption else ""
        self.query_one("#media-title", Static).update(title + caption)

    def on_resize(self) -> None:
        if self.display:
            self.call_after_refresh(self._draw)

    def redraw(self) -> None:
        """Draw the shown image at the image area's current size (decoded if not cached)."""
        self._draw()

    def _image_size(self) -> tuple[int, int]:
        image = self.query_one("#media-image")
        return image.size.width, image.size.height

    def _draw(self) -> None:
        item = self.current
        if item is None or self.run_dir is None or not self.display:
            return
        cols, rows = self._image_size()
        if cols < 2 or rows < 1:
            return
        path = item.path(self.run_dir / "media")
        key = (str(path), cols, rows)  # the whole path: two runs share file names
        if key == self._drawn:
            return
        if key in self._cache:
            self._cache.move_to_end(key)
            self._apply(key, self._cache[key])
        elif key != self._wanted:
            self._wanted = key
            self._decode(key, path)

    @work(thread=True, exclusive=True, group="media-decode", name="media decode")
    def _decode(self, key: tuple[str, int, int], path: Path) -> None:
        _, cols, rows = key
        result: Any
        try:
            if self.protocol == "halfblock":
                result = half_blocks(path, cols, rows)
            else:
                result = pixel_image(path, cols, rows, _cell_pixels())
        except UndrawableImage as error:
            result = error
        self.post_message(self.Decoded(key, result))

    @on(Decoded)
    def _decoded(self, message: Decoded) -> None:
        message.stop()
        self._wanted = None
        self._cache[message.key] = message.result
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        item = self.current
        shown = None if item is None or self.run_dir is None else item.path(self.run_dir / "media")
        if shown is not None and message.key[0] == str(shown):
            self._apply(message.key, message.result)
        else:
            self._draw()  # the shown image changed meanwhile

    def _apply(self, key: tuple[str, int, int] | None, result: Any) -> None:
        self._drawn = key
        image = self.query_one("#media-image")
        note = self.query_one("#media-note", Static)
        if isinstance(result, UndrawableImage):
            self.note = f"skipped: {result}"
            note.update(f"[dim]{_escape(self.note)}[/]")
            result = None
        elif self.note:
            self.note = ""
            note.update("")
        if isinstance(image, HalfBlockImage):
            image.show(result)
        else:
            image.image = result  # type: ignore[attr-defined]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _cell_pixels() -> tuple[int, int]:
    from textual_image._terminal import get_cell_size  # cached before Textual started

    size = get_cell_size()
    return size.width, size.height


def _pixel_widget(protocol: str) -> Widget:
    """textual-image's widget for `protocol` (imported before Textual started:
    `prepare_pixels`)."""
    from textual_image.widget import SixelImage, TGPImage

    widget: Widget = (SixelImage if protocol == "sixel" else TGPImage)(id="media-image")
    return widget


__all__ = ["PROTOCOL_ENV", "HalfBlockImage", "MediaPanel"]
