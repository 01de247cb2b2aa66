"""`autotrain-tui logs`: a run's whole `stdout.log`, or exactly its last N lines, or both
and then what follows, in constant memory whatever the log's size.

The log is copied as bytes in fixed-size chunks (never decoded, never held whole), so a
log of many gigabytes prints like `cat` would. `-n N` finds where the last N lines start
by reading backwards from the end in blocks, like `tail -n`, so it costs the size of
those lines, not of the file. Following polls for new bytes, backing off when idle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
_BACK_BLOCK_BYTES = 64 * 1024


def last_lines_offset(path: str | os.PathLike[str], count: int) -> int:
    """Where the last `count` lines of the file start (a last line without its newline
    counts as a line, as `tail -n` counts it); 0 when the file has fewer lines."""
    with open(path, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        if count <= 0:
            return end
        # A final newline ends the last line; it does not start another one.
        handle.seek(max(0, end - 1))
        skip_final = end > 0 and handle.read(1) == b"\n"
        search_end = end - 1 if skip_final else end
        found = 0
        position = search_end
        while position > 0:
            start = max(0, position - _BACK_BLOCK_BYTES)
            handle.seek(start)
            block = handle.read(position - start)
            index = len(block)
            while True:
                index = block.rfind(b"\n", 0, index)
                if index < 0:
                    break
                found += 1
                if found == count:
                    return start + index + 1
            position = start
        return 0


def copy_from(path: str | os.PathLike[str], offset: int, out: BinaryIO) -> tuple[int, bytes]:
    """Copy the file from `offset` to its current end into `out` in chunks; return the new
    offset and the last byte written (b"" when nothing was)."""
    last = b""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < offset:  # truncated or replaced: start over, as `tail -F` does
            offset = 0
        handle.seek(offset)
        while True:
            chunk = handle.read(CHUNK_BYTES)
            if not chunk:
                return offset, last
            out.write(chunk)
            offset += len(chunk)
            last = chunk[-1:]


def print_log(
    path: str | os.PathLike[str],
    out: BinaryIO,
    *,
    lines: int | None = None,
    follow_until: Callable[[], bool] | None = None,
    max_idle_sleep_s: float = 0.5,
) -> None:
    """Print the log (or its last `lines` lines); with `follow_until`, keep printing what
    is appended until it returns true and a last read finds nothing new. A missing log
    is empty (a queued run has none yet)."""
    offset = 0
    last = b""
    if lines is not None:
        try:
            offset = last_lines_offset(path, lines)
        except FileNotFoundError:
            offset = 0
    sleep = 0.05
    while True:
        offset, written = _copy_if_present(path, offset, out)
        if written:
            last = written
            out.flush()
            sleep = 0.05
        if follow_until is None:
            break
        if written:
            continue
        if follow_until():
            offset, written = _copy_if_present(path, offset, out)
            last = written or last
            break
        time.sleep(sleep)
        sleep = min(sleep * 2, max_idle_sleep_s)
    if last and last != b"\n":
        out.write(b"\n")  # a last line still being written: end it, so the prompt starts clean
    out.flush()


def _copy_if_present(path: str | os.PathLike[str], offset: int, out: BinaryIO) -> tuple[int, bytes]:
    try:
        return copy_from(path, offset, out)
    except FileNotFoundError:
        return offset, b""
