"""A run's `media/`: the images the recipe draws at each validation, as the UI lists them.

The contract (docs/run-directory.md, `media/`): each PNG `<kind>-s<step:07d>-<n>.png` is
renamed into place complete, *then* one line is appended to `media/index.jsonl`:
`{"step", "epoch", "kind", "file", "caption", "time"}` (`file` relative to `media/`). Older
PNGs are deleted (retention) while their index lines stay, so a line whose file is gone is
skipped; a torn last line waits for its newline (`LineTail`) and a junk line is skipped.

`MediaIndex.read` is called by the dashboard's tail thread every poll: it reads only the
bytes appended since, and one `scandir` of `media/` says which files still exist. No
Textual and no torch here; decoding lives in `ui/media_render.py`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from autotrain_tui.core.tail import LineTail

INDEX_NAME = "index.jsonl"
KINDS = ("predictions", "confusion")


@dataclass(frozen=True)
class MediaItem:
    """One image of `media/`, as its index line describes it."""

    step: int
    epoch: int
    kind: str
    file: str
    caption: str
    time: float

    def path(self, media_dir: Path) -> Path:
        return media_dir / self.file


def parse_index_line(line: str) -> MediaItem | None:
    """The item of one index line, or None for a line that does not follow the contract
    (junk, a foreign kind, a file name reaching outside `media/`)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    file, kind = data.get("file"), data.get("kind")
    step, epoch = data.get("step"), data.get("epoch", 0)
    if not isinstance(file, str) or not file.endswith(".png") or "/" in file or "\\" in file:
        return None
    if kind not in KINDS or file.startswith("."):
        return None
    if not isinstance(step, int) or not isinstance(epoch, int):
        return None
    caption = data.get("caption")
    when = data.get("time")
    return MediaItem(
        step=step,
        epoch=epoch,
        kind=str(kind),
        file=file,
        caption=caption if isinstance(caption, str) else "",
        time=float(when) if isinstance(when, (int, float)) else 0.0,
    )


class MediaIndex:
    """The images of one run's `media/` whose files exist, oldest first, read incrementally."""

    def __init__(self, run_dir: Path) -> None:
        self.media_dir = Path(run_dir) / "media"
        self._tail = LineTail(self.media_dir / INDEX_NAME)
        self._items: list[MediaItem] = []
        self._seen: set[str] = set()

    def read(self) -> list[MediaItem]:
        """Every listed image whose file is still there, oldest first (by step, then by the
        order written). A file written twice (a resumed run redoing a step) keeps its newest
        line."""
        fresh = [item for line in self._tail.read_lines() if (item := parse_index_line(line))]
        for item in fresh:
            if item.file in self._seen:
                self._items = [i for i in self._items if i.file != item.file]
            self._seen.add(item.file)
            self._items.append(item)
        if not self._items:
            return []
        try:
            present = {entry.name for entry in os.scandir(self.media_dir)}
        except OSError:  # media/ gone (the run deleted meanwhile)
            return []
        shown = [item for item in self._items if item.file in present]
        return sorted(shown, key=lambda item: item.step)  # stable: written order within a step
