"""The editor's files on disk: atomic save that keeps the user's bytes, recovery copies,
and noticing a change made by someone else. No Textual here, so it is tested directly.

A save writes exactly the text typed — comments, key order and blank lines are the user's —
to a temp file beside the target, fsyncs and renames it over, keeping the file's mode. While
the buffer has unsaved changes a recovery copy `.<name>.autotrain-recovery` sits beside the
file (ignored by git), so an SSH drop or a crash loses nothing; the next start offers it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autotrain_tui.core.atomic import current_umask

RECOVERY_SUFFIX = ".autotrain-recovery"


@dataclass(frozen=True)
class DiskState:
    """What we last saw of a file, to tell whether someone else changed it."""

    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> DiskState | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return cls(st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class CheckedInputs:
    """What a passing full check read, byte for byte: the saved config and custom.py.

    A launch of the same saved config while both are still these bytes needs no second
    `recipe check` (about 2 s: custom.py imports torch). The recipe validates again as it
    starts, so a module that custom.py imports, changed since, fails that run with the
    message in its log rather than passing unseen.
    """

    config: bytes | None
    custom_py: bytes | None

    @classmethod
    def read(cls, config: Path, custom_py: Path) -> CheckedInputs:
        return cls(_read_or_none(config), _read_or_none(custom_py))


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def recovery_path(path: Path) -> Path:
    """`configs/digits.yaml` → `configs/.digits.yaml.autotrain-recovery`."""
    return path.with_name(f".{path.name}{RECOVERY_SUFFIX}")


def save_text(path: Path, text: str) -> DiskState:
    """Write `text` to `path` atomically, byte for byte, keeping the file's permissions."""
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        # A new file gets what any program's would: 0666 less the user's umask.
        os.chmod(tmp_name, mode if mode is not None else 0o666 & ~current_umask())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    state = DiskState.of(path)
    assert state is not None
    return state


def write_recovery(path: Path, text: str) -> Path:
    """Keep `text` in the recovery copy beside `path` (atomically, like a save)."""
    target = recovery_path(path)
    save_text(target, text)
    return target


def read_recovery(path: Path) -> str | None:
    """The recovery copy's text when it exists and differs from the file; else None."""
    target = recovery_path(path)
    try:
        saved = target.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if saved == current:
        discard_recovery(path)
        return None
    return saved


def discard_recovery(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        recovery_path(path).unlink()
