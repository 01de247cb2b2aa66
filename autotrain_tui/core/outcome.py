"""A run's outcome from its directory's own evidence, for when nobody recorded the end.

The supervisor writes the final status, but it can die first (SIGKILL, OOM killer, a
reboot). The run directory still says what happened: the recipe's last act is an end event in
`metrics.jsonl` (`{"event": "end", "status": "completed" | "stopped" | "pruned" | "failed"}`, with
`"exit_code"` from recipe versions that write it), and a stop asked for is in `run.json`
(`stop_requested`). `outcome_of` turns that evidence into the status a manager records
instead of `lost`; `lost` is left for a run that really gave no sign of how it ended.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from autotrain_tui.core.runs import METRICS_JSONL, RunRecord, RunStatus

# The end event is the last line the recipe writes; the tail this long holds it even after
# a long last line of metrics.
_TAIL_BYTES = 64 * 1024
# Exit codes of `python -m recipe train` (docs/run-directory.md), for end events that
# carry none: a completed run exited 0, a stopped one 3.
_EXIT_BY_STATUS = {RunStatus.COMPLETED: 0, RunStatus.STOPPED: 3, RunStatus.PRUNED: 5}
_END_STATUSES = {"completed": RunStatus.COMPLETED, "stopped": RunStatus.STOPPED}
_END_STATUSES["pruned"] = RunStatus.PRUNED
_END_STATUSES["failed"] = RunStatus.FAILED
_LOST_REASON = "the run's processes are gone and nothing recorded why"


@dataclass(frozen=True)
class Outcome:
    """What the directory says: the status to record, its exit code and a one-line reason."""

    status: RunStatus
    exit_code: int | None
    reason: str


def end_event(record: RunRecord) -> dict[str, Any] | None:
    """The recipe's end event of the current attempt, if `metrics.jsonl` ends with one.

    An event older than the attempt's start belongs to an earlier attempt (a resumed run
    keeps appending to the same file), so it says nothing about this one.
    """
    path = os.path.join(record.run_dir, METRICS_JSONL)
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a partial line, cut by the tail or by the crash
        if not isinstance(event, dict):
            continue
        if event.get("event") != "end":
            return None  # the run went on after any earlier end: not its end
        when = event.get("time")
        started = record.started_at
        if started is not None and isinstance(when, int | float) and when < started:
            return None
        return event
    return None


def outcome_of(record: RunRecord) -> Outcome:
    """The status a `running` record whose processes are all gone should get, and why."""
    event = end_event(record)
    if event is not None:
        status = _END_STATUSES.get(str(event.get("status")))
        if status is not None:
            code = event.get("exit_code")
            exit_code = code if isinstance(code, int) else _EXIT_BY_STATUS.get(status)
            return Outcome(
                status,
                exit_code,
                f"{status.value} (from the recipe's end event; its supervisor died "
                "before recording the end)",
            )
    if record.stop_requested:
        return Outcome(
            RunStatus.STOPPED,
            None,
            f"{record.stop_requested} requested; its supervisor died before recording the end",
        )
    return Outcome(RunStatus.LOST, None, _LOST_REASON)
