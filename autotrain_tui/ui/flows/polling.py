"""Polling: the runs list read from `runs/` in a thread every `poll_s` seconds (the queue
advanced now and then, the editor's file stat'ed for outside changes), the system sampled
while the dashboard shows, and every worker failure turned into one notification."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from textual import on, work
from textual.css.query import NoMatches
from textual.worker import Worker, WorkerState

from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.ui.editing import DiskState
from autotrain_tui.ui.flows.base import AppBase
from autotrain_tui.ui.messages import (
    CustomChangedOnDisk,
    FileChangedOnDisk,
    QueueStepped,
    RunsRefreshed,
    ServersSeen,
    SystemSampled,
)
from autotrain_tui.ui.widgets.sidebar import MAX_RUNS_SHOWN, Sidebar

QUEUE_EVERY = 5  # advance the queue every this many polls (the supervisors do it too)
# Runs the first poll lists and whose metrics it reads: a tall sidebar's worth (two rows a
# run). The rest of the shown runs (MAX_RUNS_SHOWN) fill in on the next polls, off screen.
FIRST_POLL_RUNS = 40


def queue_problem(error: ManagerError | OSError, runs_dir: Path) -> str:
    """One line for a queue step that failed; a project the user may not write to (a
    teammate's, a read-only mount) is said to be read-only."""
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"this project is read-only for you ({runs_dir} is not writable: "
            f"{error.strerror}): runs are shown, but none can be launched or started here"
        )
    return f"the queue cannot start runs: {error}"


def keyed_by_directory(records: list[RunRecord]) -> tuple[list[RunRecord], dict[str, str]]:
    """Each run under the name of its directory, which no two share, and the directories
    whose `run.json` says otherwise (directory -> recorded id).

    A copied run directory carries its original's id: keyed by id, two runs collided (the
    runs list refused the second and the UI died) and an action on one could reach the
    other. The core resolves a run reference by directory name, so the UI passes that.
    """
    out: list[RunRecord] = []
    copies: dict[str, str] = {}
    for record in records:
        name = record.run_dir.name
        if record.id != name:
            copies[name] = record.id
            record = record.replace(id=name)
        out.append(record)
    return out, copies


class PollingFlow(AppBase):
    """The runs poller and the system sampler."""

    def poll_runs(self) -> None:
        if not self._polling:
            self._polling = True
            watched = None
            # The first poll lists the runs within the first frame, before the editor is
            # mounted (just after it): there is no open file to watch yet.
            if self._panes_ready.is_set():
                try:
                    editor = self.editor
                except NoMatches:  # the app is closing: its panes are unmounted already
                    self._polling = False
                    return
                if editor.path is not None and not self._disk_prompt_open:
                    watched = (editor.path, editor.disk_state)
            shown = FIRST_POLL_RUNS if self._polls == 0 else MAX_RUNS_SHOWN
            self._poll_runs_worker(self._polls % QUEUE_EVERY == 0, watched, shown)
            self._polls += 1

    @work(thread=True, group="runs-poll", name="runs poller", exit_on_error=False)
    def _poll_runs_worker(
        self, advance_queue: bool, watched: tuple[Path, DiskState | None] | None, shown: int
    ) -> None:
        """`runs/` read and summarised (the newest `shown`); the editor's file and custom.py
        checked for outside changes."""
        try:
            if watched is not None:
                path, known = watched
                seen = DiskState.of(path)
                if seen != known:
                    self.post_message(FileChangedOnDisk(path, known, seen))
            custom = DiskState.of(self.project.custom_py)
            if custom != self._custom_seen:
                self.post_message(CustomChangedOnDisk())
            self._custom_seen = custom
            records, copies = keyed_by_directory(self.project.list_runs())
            if self._summaries is None:
                from autotrain_tui.ui.run_summary import RunSummaries

                self._summaries = RunSummaries()
            summaries = self._summaries.update(records, first_reads=shown)
            self.post_message(RunsRefreshed(records, summaries, shown, copies))
            if advance_queue or self._serving:  # every poll while any server is up
                from autotrain_tui.core.servers import serving_lines

                self._serving = serving_lines(self.project.runs_dir)
                self.post_message(ServersSeen(self._serving))
            if advance_queue:
                # After the list is out (a project's first list waits for nothing); what
                # this starts shows on the next poll. A failed step is retried on a later one.
                problem = None
                try:
                    self.project.advance_queue()
                except (ManagerError, OSError) as error:
                    problem = queue_problem(error, self.project.runs_dir)
                self.post_message(QueueStepped(problem))
        finally:
            self._polling = False

    @on(RunsRefreshed)
    def _runs_refreshed(self, message: RunsRefreshed) -> None:
        if not self.query(Sidebar):  # a poll that lands while the app closes
            return
        now = self.clock()
        previous = self.statuses
        self.records = {r.id: r for r in message.records}
        self.statuses = {r.id: r.status for r in message.records}
        if previous is not None:
            for record in message.records:
                before = previous.get(record.id)
                if before is not None and before.is_live and record.status.is_finished:
                    self._notify_finished(record)
        for name, recorded in message.copies.items():
            if (name, recorded) not in self._copies_named:  # once per copy
                self._copies_named.add((name, recorded))
                self.notify(
                    f"runs/{name}: its run.json says id {recorded!r}, not its directory's "
                    "name (a copied run directory?); listed and acted on by directory name",
                    severity="warning",
                    timeout=12,
                )
        self.sidebar.show_runs(
            message.records, message.summaries, now, limit=message.shown, copies=message.copies
        )
        # The runs reach the screen before the editor's load, highlighting and checks.
        self.call_after_refresh(self._open_default_once)
        shown = self.dashboard.record
        if shown is not None and shown.id in self.records:
            self.dashboard.update_record(self.records[shown.id], now)

    @on(ServersSeen)
    def _servers_seen(self, message: ServersSeen) -> None:
        if self.query("#dashboard"):
            self.dashboard.update_serving(message.lines)

    @on(CustomChangedOnDisk)
    def _custom_changed(self) -> None:
        """The open config's full check imports custom.py: check again with the new one."""
        if self.query("#editor") and self.editor.is_config:
            self.editor.recheck()

    @on(QueueStepped)
    def _queue_stepped(self, message: QueueStepped) -> None:
        """Say a queue problem once, not every poll; again only once it changed or cleared."""
        if message.problem is not None and message.problem != self._queue_problem:
            self.notify(message.problem, severity="warning", timeout=15)
        self._queue_problem = message.problem

    def _open_default_once(self) -> None:
        """After the first runs poll: the listing of a big `runs/` has the CPU to itself first
        (the editor's load, highlighting and checks would otherwise slow it about twofold)."""
        if self.open_default and not self._default_opened:
            self._default_opened = True
            self.open_default_config()

    def _notify_finished(self, record: RunRecord) -> None:
        severity: Any = {
            RunStatus.COMPLETED: "information",
            RunStatus.STOPPED: "warning",
            RunStatus.PRUNED: "information",
        }.get(record.status, "error")
        detail = f": {record.reason}" if record.reason else ""
        self.notify(f"{record.id} {record.status.value}{detail}", severity=severity, timeout=8)

    def sample_system(self) -> None:
        if not self._sampling and self.current_pane == "dashboard":
            self._sampling = True
            running = [r for r in self.records.values() if r.status is RunStatus.RUNNING]
            self._sample_worker(running)

    @work(thread=True, group="sampler", name="system sampler", exit_on_error=False)
    def _sample_worker(self, running: list[RunRecord]) -> None:
        try:
            self.post_message(SystemSampled(self.sampler.sample(running)))
        finally:
            self._sampling = False

    @on(SystemSampled)
    def _system_sampled(self, message: SystemSampled) -> None:
        if self.query("#dashboard"):
            self.dashboard.add_snapshot(message.snapshot)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker failure becomes one notification, never a crash."""
        if event.state is WorkerState.ERROR and event.worker.name == "runs poller":
            self._open_default_once()  # the first poll failed: the editor must not wait on it
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            message = str(error) if isinstance(error, ManagerError) else repr(error)
            self.notify(f"{event.worker.name}: {message}", severity="error", timeout=10)
