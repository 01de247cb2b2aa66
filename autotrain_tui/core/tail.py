"""Incremental readers for files a run appends to (`stdout.log`, `metrics.jsonl`).

A run can log for days, so a reader must never re-read or hold the whole file: it keeps an
offset, reads only the bytes added since, and holds back a partial last line until its
newline arrives (the recipe writes each metrics line with one `write()`, but a reader can
still catch it half-way). If the file shrinks or is replaced, reading starts over. Memory is
bounded by `max_chunk_bytes` per read and `max_line_bytes` for the held partial line.
Following sleeps when there is nothing new — backing off up to `max_idle_sleep_s` — so an
idle tail costs next to no CPU.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DEFAULT_MAX_CHUNK_BYTES = 4 * 2**20
DEFAULT_MAX_LINE_BYTES = 1 * 2**20


class LineTail:
    """Reads the complete lines appended to `path` since the previous call."""

    def __init__(
        self,
        path: Path,
        *,
        max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    ) -> None:
        self.path = Path(path)
        self.max_chunk_bytes = max_chunk_bytes
        self.max_line_bytes = max_line_bytes
        self.offset = 0
        self.truncations = 0
        self._inode: int | None = None
        self._partial = b""

    @classmethod
    def from_last_lines(cls, path: Path, count: int, **kwargs: Any) -> tuple[LineTail, list[str]]:
        """A tail positioned so that it first returns (about) the last `count` lines.

        Returns the tail and those lines; reads only the end of a huge file.
        """
        tail = cls(path, **kwargs)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            return tail, []
        window = 64 * 1024
        while True:
            start = max(0, size - window)
            tail.offset = start
            tail._partial = b""
            lines = tail.read_lines()
            if start > 0:
                lines = lines[1:]  # the first line read from mid-file is cut
            if len(lines) >= count or start == 0 or window >= tail.max_chunk_bytes:
                return tail, lines[-count:] if count else []
            window *= 4

    def read_lines(self) -> list[str]:
        """The complete lines added since the last call (decoded UTF-8, newline stripped)."""
        lines, _ = self.read_newest_lines(None)
        return lines

    def read_newest_lines(self, limit: int | None) -> tuple[list[str], int]:
        """The newest `limit` complete lines added since the last call, and how many older
        ones were passed over (all of them when `limit` is None: nothing is passed over).

        A view that shows a screenful asks for that many: under a flood of thousands of
        lines a second the older ones are counted in C (`bytes.count`), never decoded or
        turned into Python strings, so a reader thread keeps the GIL only for a moment.
        """
        block = self._read_complete_block()
        if not block:
            return [], 0
        skipped = 0
        if limit is not None:
            # Back over the newest `limit` lines: `newline` ends at the one before them.
            newline = len(block) - 1
            for _ in range(limit):
                newline = block.rfind(b"\n", 0, newline)
                if newline < 0:
                    break
            if newline >= 0:
                skipped = block.count(b"\n", 0, newline + 1)
                block = block[newline + 1 :]
            if not block:  # limit 0: everything was passed over
                return [], skipped
        text = block[:-1].decode("utf-8", errors="replace")
        return [line.rstrip("\r") for line in text.split("\n")], skipped

    def _read_complete_block(self) -> bytes:
        """The new complete lines as one bytes block ending in a newline (b"" when none)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return b""
        try:
            stat = os.fstat(fd)
            replaced = self._inode is not None and stat.st_ino != self._inode
            if replaced or stat.st_size < self.offset:
                # Replaced or truncated: what we hold belongs to the old content.
                self.offset = 0
                self._partial = b""
                self.truncations += 1
            self._inode = stat.st_ino
            if stat.st_size == self.offset:
                return b""
            os.lseek(fd, self.offset, os.SEEK_SET)
            data = os.read(fd, min(self.max_chunk_bytes, stat.st_size - self.offset))
        finally:
            os.close(fd)
        self.offset += len(data)
        buffer = self._partial + data
        end = buffer.rfind(b"\n") + 1
        block, partial = buffer[:end], buffer[end:]
        if len(partial) > self.max_line_bytes:
            # A line longer than we agree to hold: hand it out in pieces.
            block, partial = block + partial + b"\n", b""
        self._partial = partial
        return block

    @property
    def partial_line(self) -> str:
        """The incomplete last line held back, for display of an in-progress line."""
        return self._partial.decode("utf-8", errors="replace")

    def follow(
        self,
        *,
        stop: threading.Event | None = None,
        until: Callable[[], bool] | None = None,
        min_idle_sleep_s: float = 0.05,
        max_idle_sleep_s: float = 0.5,
    ) -> Iterator[list[str]]:
        """Yield batches of new lines; sleep (backing off) when there are none.

        Ends when `stop` is set, or when `until()` is true and a last read found nothing.
        """
        sleep = min_idle_sleep_s
        while stop is None or not stop.is_set():
            lines = self.read_lines()
            if lines:
                sleep = min_idle_sleep_s
                yield lines
                continue
            if until is not None and until():
                final = self.read_lines()
                if final:
                    yield final
                return
            if stop is not None:
                if stop.wait(sleep):
                    return
            else:
                time.sleep(sleep)
            sleep = min(sleep * 2, max_idle_sleep_s)


class MetricsTail:
    """Reads the metrics events appended to a `metrics.jsonl` since the previous call."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        self.lines = LineTail(path, **kwargs)
        self.skipped = 0

    def read_events(self) -> list[dict[str, Any]]:
        """New events as dicts; lines that are not JSON objects are counted and skipped."""
        events: list[dict[str, Any]] = []
        for line in self.lines.read_lines():
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self.skipped += 1
                continue
            if isinstance(event, dict):
                events.append(event)
            else:
                self.skipped += 1
        return events
