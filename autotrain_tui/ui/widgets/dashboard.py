"""The run dashboard: header, loss chart, log and system panel for one run.

The app hands it a record (`show_run`, then `update_record` on every poll); the dashboard
owns the run's `MetricHistory` and a thread worker that tails `metrics.jsonl` and
`stdout.log` every `POLL_S` seconds and posts what is new. Switching runs cancels the tail.
"""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.worker import get_current_worker

from autotrain_tui.core.runs import RunRecord
from autotrain_tui.core.sampler import SystemSnapshot
from autotrain_tui.core.tail import LineTail, MetricsTail
from autotrain_tui.ui.messages import LogLinesReceived, MetricsReceived
from autotrain_tui.ui.metric_history import MetricHistory
from autotrain_tui.ui.widgets.log_panel import LogPanel
from autotrain_tui.ui.widgets.loss_chart import LossChart
from autotrain_tui.ui.widgets.run_header import RunHeader
from autotrain_tui.ui.widgets.system_panel import SystemPanel

POLL_S = 0.25
LOG_BACKLOG = 500  # lines shown from the end of the log when a run is opened
LOG_BATCH_MAX = 1_000  # newest lines kept from one poll; older ones are skipped (on disk)
CATCH_UP_EVENTS = 5_000  # a metrics read this big means we are catching up: read again


class RunDashboard(Vertical):
    """Everything about the selected run."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.record: RunRecord | None = None
        self.history: MetricHistory | None = None
        self.now = 0.0

    def compose(self) -> ComposeResult:
        yield RunHeader("no run selected", id="run-header")
        yield LossChart(id="chart")
        yield LogPanel(id="log")
        yield SystemPanel(id="system")

    @property
    def chart(self) -> LossChart:
        return self.query_one(LossChart)

    @property
    def log_panel(self) -> LogPanel:
        return self.query_one(LogPanel)

    def show_run(self, record: RunRecord, now: float) -> None:
        """Start watching `record` (from its first metric and the end of its log)."""
        self.record = record
        self.now = now
        self.history = MetricHistory()
        self.chart.show_history(self.history)
        self.log_panel.reset()
        self.query_one(SystemPanel).show_run(record.id)
        self._render_header()
        self._tail(record)

    def update_record(self, record: RunRecord, now: float) -> None:
        if self.record is None or record.id != self.record.id:
            return
        self.record = record
        self.now = now
        self._render_header()

    def add_snapshot(self, snapshot: SystemSnapshot) -> None:
        self.query_one(SystemPanel).add_snapshot(snapshot)

    def _render_header(self) -> None:
        if self.record is not None:
            self.query_one(RunHeader).show(self.record, self.history, self.now)

    @work(thread=True, exclusive=True, group="run-tail", name="run tail")
    def _tail(self, record: RunRecord) -> None:
        worker = get_current_worker()
        lines_tail, backlog = LineTail.from_last_lines(record.stdout_log, LOG_BACKLOG)
        if backlog:
            self.post_message(LogLinesReceived(record.id, backlog))
        metrics = MetricsTail(record.metrics_jsonl)
        while not worker.is_cancelled:
            events = metrics.read_events()
            if events:
                self.post_message(MetricsReceived(record.id, events))
            lines = lines_tail.read_lines()
            if lines:
                skipped = max(0, len(lines) - LOG_BATCH_MAX)
                self.post_message(LogLinesReceived(record.id, lines[skipped:], skipped))
            if len(events) < CATCH_UP_EVENTS:
                time.sleep(POLL_S)

    @on(MetricsReceived)
    def _metrics_received(self, message: MetricsReceived) -> None:
        message.stop()
        if self.record is None or message.run_id != self.record.id or self.history is None:
            return
        if self.history.add(message.events):
            self.chart.data_changed()
            self._render_header()

    @on(LogLinesReceived)
    def _log_received(self, message: LogLinesReceived) -> None:
        message.stop()
        if self.record is None or message.run_id != self.record.id:
            return
        self.log_panel.add_lines(message.lines, message.skipped)
