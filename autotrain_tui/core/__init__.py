"""The headless run manager: launch, supervise, queue, stop, tail and sample runs.

Nothing here imports Textual, torch or Lightning, so every action the UI offers is usable
and testable from a script, and the manager keeps working when a run's stack is broken.
The one entry point for callers is `Project` (see `project.py`).
"""

from autotrain_tui.core.errors import (
    AmbiguousRunError,
    InvalidConfigError,
    ManagerError,
    RunIsLiveError,
    UnknownRunError,
)
from autotrain_tui.core.project import Project, QueueSettings, SweepSummary
from autotrain_tui.core.runs import RunRecord, RunStatus

__all__ = [
    "AmbiguousRunError",
    "InvalidConfigError",
    "ManagerError",
    "Project",
    "QueueSettings",
    "RunIsLiveError",
    "RunRecord",
    "RunStatus",
    "SweepSummary",
    "UnknownRunError",
]
