"""Messages the workers post and the widgets send up (attributes down, messages up).

Each is a dataclass named in the past tense. Pollers post at a fixed pace (a few per second),
which is the coalescing for tails; the system sample keeps only the newest (`can_replace`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from autotrain_tui.core.runs import RunRecord

if TYPE_CHECKING:
    from autotrain_tui.core.media import MediaItem
    from autotrain_tui.core.sampler import SystemSnapshot
    from autotrain_tui.ui.editing import CheckedInputs, DiskState
    from autotrain_tui.ui.run_summary import RunSummary


@dataclass
class RunsRefreshed(Message):
    """The runs poller read `runs/`: every record, newest first, and the summaries of the
    newest `shown` (the most the sidebar lists from this poll)."""

    records: list[RunRecord]
    summaries: dict[str, RunSummary]
    shown: int
    # Runs whose `run.json` names another id than their directory (a copied run directory):
    # directory name -> the id recorded. The UI keys every run by its directory name.
    copies: dict[str, str] = field(default_factory=dict)


@dataclass
class ServersSeen(Message):
    """The live model servers (`autotrain-tui serve`), one line each, by run directory name:
    URL, readiness and requests served, from each server's own /health."""

    lines: dict[str, list[str]]


@dataclass
class QueueStepped(Message):
    """The poller tried to advance the queue: `problem` says why it could not (None: it
    could)."""

    problem: str | None


@dataclass
class SystemSampled(Message):
    """A new host/GPU/process snapshot; only the newest one matters."""

    snapshot: SystemSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SystemSampled)


@dataclass
class MetricsReceived(Message):
    """New records of the dashboard run's `metrics.jsonl`."""

    run_id: str
    events: list[dict[str, Any]]


@dataclass
class MediaListed(Message):
    """The dashboard run's `media/` images whose files exist, oldest first (posted when the
    list changed)."""

    run_id: str
    items: list[MediaItem]


@dataclass
class LogLinesReceived(Message):
    """New lines of the dashboard run's `stdout.log`; `skipped` lines were not kept."""

    run_id: str
    lines: list[str]
    skipped: int = 0


@dataclass
class QuickChecked(Message):
    """The torch-free check of the editor's text found these problems (empty: none)."""

    path: Path
    generation: int
    problems: list[tuple[int, int, str]]  # (line, col, message), 1-based
    trusted: bool = True  # the project's code may run: the full check may follow


@dataclass
class FullChecked(Message):
    """`recipe check` (custom.py included) finished; `lines` are FILE:LINE:COL messages."""

    path: Path
    generation: int
    ok: bool
    lines: list[str] = field(default_factory=list)
    inputs: CheckedInputs | None = None  # what a passing check of the saved file read
    untrusted: bool = False  # not run: the project is not trusted (any more)


@dataclass
class FileChangedOnDisk(Message):
    """The editor's file is no longer as the editor last saw it (`known`): now `seen`."""

    path: Path
    known: DiskState | None
    seen: DiskState | None


@dataclass
class CustomChangedOnDisk(Message):
    """The project's custom.py changed on disk (saved here or anywhere else)."""


@dataclass
class OpenFileRequested(Message):
    """A config (or custom.py) was chosen in the sidebar."""

    path: Path


@dataclass
class RunSelected(Message):
    """A run was chosen in the sidebar."""

    run_id: str
