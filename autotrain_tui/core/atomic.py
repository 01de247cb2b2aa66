"""Atomic file writes: another process reads either the old file or the new one, never half.

The run directory is read by processes that may start at any moment (a UI in another
terminal, a supervisor advancing the queue), so a reader must never see a torn `run.json`.
Writing a temp file in the same directory, fsyncing it and renaming it over the target gives
that guarantee on POSIX filesystems; the directory fsync makes the rename survive a crash.

The temp file is given the mode the file would have had if written in place: the existing
file's mode, or for a new file the user's umask applied to 0666, like every other file the
run writes. (`mkstemp` alone makes it 0600, and a teammate's UI on a shared project then
cannot read `run.json`.)
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace `path` with `data` in one step (temp file, fsync, rename, directory fsync)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        # Never leave a stray temp file behind, whatever interrupted us.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write `obj` as indented JSON, atomically (see `write_atomic`)."""
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def current_umask() -> int:
    """The process's umask, read without changing it (os.umask can only set it, which would
    race with other threads creating files); set-and-restore only where /proc lacks it."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        # Some filesystems refuse fsync on a directory; the rename itself is still atomic.
        pass
    finally:
        os.close(fd)
