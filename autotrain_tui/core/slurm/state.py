"""Is a SLURM run alive, and how did it end? One `squeue` per poll, the outcome from disk.

Liveness is the job's presence in `squeue` in a state that is not final; there is no pid to
check, the recipe runs on another node. The controller is asked once per poll for every job
of the user (`Snapshot`, shared by all the runs a listing reconciles, at most every
`POLL_INTERVAL_S`), never once per run. A controller that does not answer says nothing:
the run stays `running` with its last known state, it is never declared lost for that.

The outcome comes from the run directory, as for a local run whose supervisor died
(`outcome.outcome_of`): the recipe's end event, else the batch script's `exit_code` file of
this job, else a stop that was asked for. A job that is gone, or final, with none of these is
`lost`, and the reason names the state it was last seen in (TIMEOUT, NODE_FAIL, …).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass

from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.outcome import Outcome, end_event
from autotrain_tui.core.runs import RunRecord, RunStatus, modify_run
from autotrain_tui.core.slurm import commands
from autotrain_tui.core.slurm.commands import JobView
from autotrain_tui.core.slurm.record import SlurmInfo
from autotrain_tui.core.slurm.script import ATTEMPT_FILE, EXIT_CODE_FILE, EXIT_REQUEUE

POLL_INTERVAL_S = 2.0
# sbatch returns once the controller has the job, so a fresh poll lists it; this covers a
# poll taken just before the submission, and a controller slow to list a new job.
SUBMIT_GRACE_S = 30.0
_EXIT_STATUS = {0: RunStatus.COMPLETED, 3: RunStatus.STOPPED, 5: RunStatus.PRUNED}


@dataclass(frozen=True)
class Snapshot:
    """One `squeue` answer: the user's jobs by id, and when it was asked (monotonic)."""

    jobs: dict[str, JobView]
    taken_at: float  # time.monotonic()
    taken_wall: float  # time.time(), to compare with a record's submission time


class Poller:
    """The latest `squeue` snapshot, refreshed at most every `interval_s` (thread-safe)."""

    def __init__(self, interval_s: float = POLL_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.calls = 0  # squeue calls made (the bench counts them)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def snapshot(self, *, newer_than_wall: float | None = None) -> Snapshot | None:
        """The cached snapshot, or a new one when it is older than the interval (or than
        `newer_than_wall`, a submission time). None when squeue cannot answer."""
        with self._lock:
            current = self._snapshot
            fresh = current is not None and time.monotonic() - current.taken_at < self.interval_s
            if fresh and newer_than_wall is not None and current is not None:
                fresh = current.taken_wall >= newer_than_wall
            if fresh:
                return current
            wall = time.time()
            try:
                jobs = commands.squeue_user()
            except ManagerError:
                return None
            finally:
                self.calls += 1
            self._snapshot = Snapshot(jobs, time.monotonic(), wall)
            return self._snapshot

    def forget(self) -> None:
        """Drop the cached snapshot (after a submission or a cancel: the next one is fresh)."""
        with self._lock:
            self._snapshot = None


POLLER = Poller()


def reconcile_slurm(record: RunRecord, poller: Poller = POLLER) -> RunRecord:
    """Keep a `running` SLURM run's job view current; record its end once the job is over."""
    if record.status is RunStatus.QUEUED:
        return _unsubmitted(record)
    info = record.slurm
    if record.status is not RunStatus.RUNNING or info is None or info.job_id is None:
        return record
    submitted = record.started_at or record.created_at or 0.0
    snap = poller.snapshot(newer_than_wall=submitted)
    if snap is None:
        return record  # the controller did not answer: nothing is known, nothing changes
    view = snap.jobs.get(info.job_id)
    if view is not None and not view.is_final:
        return _note_view(record, view, snap.taken_wall)
    if view is None and not record.stop_requested and time.time() - submitted < SUBMIT_GRACE_S:
        return record  # not listed yet; a job we cancelled may simply be gone already
    return _record_end(record, view)


def _unsubmitted(record: RunRecord) -> RunRecord:
    """A SLURM run still `queued` long after its creation was never submitted: whoever
    submitted it died in between (a submission takes a second). Recorded `failed`."""
    if time.time() - (record.created_at or 0.0) < SUBMIT_GRACE_S:
        return record

    def fail(current: RunRecord) -> RunRecord | None:
        if current.status is not RunStatus.QUEUED or current.slurm is not None:
            return None
        return current.replace(
            status=RunStatus.FAILED,
            ended_at=time.time(),
            reason="never submitted to SLURM (the launcher stopped before sbatch answered)",
        )

    try:
        return modify_run(record.run_dir, fail)
    except (OSError, ValueError):
        return record


def _note_view(record: RunRecord, view: JobView, when: float) -> RunRecord:
    """Write the job's state into run.json when it changed (not at every poll)."""
    info = record.slurm
    assert info is not None
    if (info.state, info.reason, info.node) == (view.state, view.reason, view.node) and (
        info.time_left == view.time_left or when - (info.polled_at or 0.0) < 60.0
    ):
        return record  # the time left is refreshed once a minute, the rest when it changes

    def note(current: RunRecord) -> RunRecord | None:
        cur = current.slurm
        if current.status is not RunStatus.RUNNING or cur is None or cur.job_id != view.job_id:
            return None
        changes: dict[str, object] = {}
        if view.state == "RUNNING" and cur.state != "RUNNING":
            changes["started_at"] = when  # elapsed counts from the start, not the submission
        return current.replace(
            slurm=cur.replace(
                state=view.state,
                reason=view.reason,
                node=view.node,
                time_left=view.time_left,
                polled_at=when,
                restarts=max(cur.restarts, _attempt(current)),
            ),
            **changes,
        )

    try:
        return modify_run(record.run_dir, note)
    except (OSError, ValueError):
        return record


def _attempt(record: RunRecord) -> int:
    """SLURM_RESTART_COUNT of the current job's latest attempt (the batch script's
    `slurm_attempt.json`); 0 when it has not written one yet."""
    try:
        with open(os.path.join(record.run_dir, ATTEMPT_FILE), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return 0
    info = record.slurm
    if not isinstance(data, dict) or info is None or data.get("job_id") != info.job_id:
        return 0
    attempt = data.get("attempt")
    return attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else 0


def exit_code_file(record: RunRecord) -> int | None:
    """The batch script's recorded exit status of this run's current job, if it wrote one."""
    info = record.slurm
    try:
        with open(os.path.join(record.run_dir, EXIT_CODE_FILE), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or info is None or data.get("job_id") != info.job_id:
        return None  # an earlier job's (a resume submits a new one)
    code = data.get("exit_code")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def slurm_outcome(record: RunRecord, view: JobView | None) -> Outcome:
    """How a SLURM run whose job is over ended, from its directory's evidence."""
    info = record.slurm or SlurmInfo()
    seen = info.shown_state if view is None else f"{view.state}"
    if view is not None and view.reason:
        seen += f" ({view.reason})"
    event = end_event(record)
    if event is not None and event.get("status") in ("completed", "stopped", "pruned", "failed"):
        status = RunStatus(str(event["status"]))
        code = event.get("exit_code")
        return Outcome(
            status, code if isinstance(code, int) else None, f"job {info.job_id}: {seen}"
        )
    code = exit_code_file(record)
    requeued = event is not None and event.get("status") == "requeued"
    if (code == EXIT_REQUEUE or (code is None and requeued)) and not record.stop_requested:
        # The checkpoint was saved at the warning, but the job did not run again
        # (slurm.requeue: false, or cancelled while requeued): resumable, so `stopped`.
        return Outcome(
            RunStatus.STOPPED,
            code,
            f"job {info.job_id}: checkpoint saved at the time-limit warning, but the job "
            f"was not requeued ({seen}); resume it to continue",
        )
    if code is not None and code != EXIT_REQUEUE:
        status = _EXIT_STATUS.get(code, RunStatus.FAILED)
        if record.stop_requested and status is RunStatus.FAILED:
            status = RunStatus.STOPPED
        return Outcome(status, code, f"job {info.job_id} ended {seen} with exit code {code}")
    if record.stop_requested:
        return Outcome(
            RunStatus.STOPPED, None, f"{record.stop_requested} requested; job {info.job_id}: {seen}"
        )
    where = "is gone from squeue" if view is None else f"ended {seen}"
    return Outcome(
        RunStatus.LOST,
        None,
        f"job {info.job_id} {where} (last seen {info.shown_state}) and the run directory "
        "records no end",
    )


def _record_end(record: RunRecord, view: JobView | None) -> RunRecord:
    def end(current: RunRecord) -> RunRecord | None:
        if current.status is not RunStatus.RUNNING or current.slurm is None:
            return None
        if current.slurm.job_id != (record.slurm.job_id if record.slurm else None):
            return None  # resubmitted meanwhile
        found = slurm_outcome(current, view)
        slurm = current.slurm
        if view is not None:
            slurm = slurm.replace(
                state=view.state, reason=view.reason, node=view.node, time_left=None
            )
        return current.replace(
            status=found.status,
            exit_code=found.exit_code,
            ended_at=time.time(),
            reason=found.reason,
            slurm=slurm.replace(polled_at=time.time()),
        )

    try:
        return modify_run(record.run_dir, end)
    except (FileNotFoundError, ValueError):
        return record
