"""`RunCache`: the records of `runs/` kept in memory, each read again only when its
`run.json` changed (the UI lists the same runs every second)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autotrain_tui.core.runs import RunRecord


class RunCache:
    """Records already read, each with the version of `run.json` it was read from.

    For a caller that lists the same `runs/` again and again (the UI polls it every
    second). Every writer replaces `run.json` atomically, so a new version is a new inode;
    with the size and the change time beside it, an unchanged stat means unchanged content
    and the file is not read again. A project with 1,000 finished runs is then listed with
    1,000 `stat` calls instead of 1,000 reads and JSON parses. Thread-safe.

    The one blind spot: two writes of equal size within one timestamp tick that also reuse
    the freed inode. That record shows late (until its next write), never wrong for an
    action: whatever changes a run re-reads it under the run's lock (`modify_run`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[tuple[int, int, int, int], RunRecord]] = {}

    def read(self, run_dir: Path | str) -> RunRecord:
        """`read_run(run_dir)`, from memory when `run.json` has not changed since."""
        from autotrain_tui.core.runs import RUN_JSON, read_run  # runs re-exports this class

        path = os.fspath(run_dir)
        info = os.stat(os.path.join(path, RUN_JSON))
        version = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        with self._lock:
            known = self._records.get(path)
        if known is not None and known[0] == version:
            return known[1]
        record = read_run(Path(path))
        with self._lock:
            self._records[path] = (version, record)
        return record

    def forget_missing(self, present: set[str]) -> None:
        """Drop the records of run directories that are gone (deleted runs)."""
        with self._lock:
            for path in set(self._records) - present:
                del self._records[path]
