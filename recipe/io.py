"""Atomic file writes: readers (the UI, the manager, resume) never see a half-written file.

Every write goes to a temp file in the destination's directory, is fsynced, then renamed
over the destination. Big writes (checkpoints) stream straight into that temp file instead
of being built in memory first: a checkpoint's save must not need its size in extra RAM.
Files are created with the user's umask, like the logs beside them, so a teammate who can
read the run directory can read every file in it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO


def _umask() -> int:
    """The process's umask, read without changing it (Linux: /proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022  # the common default, where /proc is not there to ask


def atomic_write_with(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(handle)` on a temp file beside `path`, fsync it, then rename it over `path`.

    Nothing of the temp file is left behind when `write` raises.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it 0600
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_link(source: str, path: str) -> None:
    """Make `path` a second name of `source`'s file (a hard link), replacing it atomically.

    The two names share one file until either is replaced by a rename (as every write here
    is), which leaves the other's content as it was. OSError where the filesystem has no
    hard links: the caller then writes a copy.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.link.tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.link(source, tmp)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write `data` to `path` atomically."""

    def write(handle: BinaryIO) -> None:
        handle.write(data)

    atomic_write_with(path, write)


def atomic_write_text(path: str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str, value: Any) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")
