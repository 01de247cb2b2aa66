"""The run dashboard: header, loss chart, log, media panel and system panel for one run.

The app hands it a record (`show_run`, then `update_record` on every poll); the dashboard
owns the run's `MetricHistory` and a thread worker that tails `metrics.jsonl` and
`stdout.log` every `POLL_S` seconds and posts what is new. Switching runs cancels the tail.

The chart (plotext, the heaviest import of the UI) is mounted when the first run is shown,
not at start-up: the first frame only needs the sidebar and the editor.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.worker import get_current_worker

from autotrain_tui.core.media import MediaIndex, MediaItem
from autotrain_tui.core.runs import RunRecord
from autotrain_tui.core.tail import LineTail, MetricsTail
from autotrain_tui.ui.messages import LogLinesReceived, MediaListed, MetricsReceived
from autotrain_tui.ui.metric_history import MetricHistory
from autotrain_tui.ui.widgets.log_panel import LogPanel
from autotrain_tui.ui.widgets.log_search import LogSearchBar
from autotrain_tui.ui.widgets.media_panel import MediaPanel
from autotrain_tui.ui.widgets.run_header import RunHeader
from autotrain_tui.ui.widgets.system_panel import SystemPanel

if TYPE_CHECKING:
    from autotrain_tui.core.sampler import SystemSnapshot
    from autotrain_tui.ui.widgets.loss_chart import LossChart

POLL_S = 0.25  # between reads while the run writes; backing off to IDLE_POLL_S when quiet
IDLE_POLL_S = 0.5  # a metric still reaches the screen within a second
LOG_BACKLOG = 500  # lines shown from the end of the log when a run is opened
# Newest lines kept from one poll (4 a second, so 400 lines/s before anything is skipped;
# skipped lines stay on disk). The panel shows a screenful; writing more per poll only slows
# keys down under a flood (250 a poll: keypress p95 59-66 ms under 10,000 lines/s; 100:
# 51-61 ms, alternated in bench/ui.py).
LOG_BATCH_MAX = 100
CATCH_UP_EVENTS = 5_000  # a metrics read this big means we are catching up: read again


class RunDashboard(Vertical):
    """Everything about the selected run."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.record: RunRecord | None = None
        self.history: MetricHistory | None = None
        self.now = 0.0
        self.serving: dict[str, list[str]] = {}  # model servers' lines, by run directory
        self._chart: LossChart | None = None

    def compose(self) -> ComposeResult:
        yield RunHeader("no run selected", id="run-header")
        # The media panel beside the chart and log (hidden while the run has no media/).
        with Horizontal(id="run-body"):
            with Vertical(id="run-main"):
                yield LogPanel(id="log")
                bar = LogSearchBar(id="log-search")
                bar.display = False
                yield bar
            yield MediaPanel(id="media")
        yield SystemPanel(id="system")

    @property
    def chart(self) -> LossChart:
        """The loss chart, mounted above the log on first use."""
        if self._chart is None:
            from autotrain_tui.ui.widgets.loss_chart import LossChart

            self._chart = LossChart(id="chart")
            self.query_one("#run-main").mount(self._chart, before=self.log_panel)
        return self._chart

    @property
    def media(self) -> MediaPanel:
        return self.query_one(MediaPanel)

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
        self.search_bar.display = False
        self.query_one(SystemPanel).show_run(record.id)
        self.media.show_run(record.run_dir)
        self._render_header()
        self._tail(record)

    def update_record(self, record: RunRecord, now: float) -> None:
        if self.record is None or record.id != self.record.id:
            return
        self.record = record
        self.now = now
        self._render_header()

    def update_serving(self, lines: dict[str, list[str]]) -> None:
        """The model servers' lines (by run directory); the shown run's go in its header."""
        if lines != self.serving:
            self.serving = lines
            self._render_header()

    def add_snapshot(self, snapshot: SystemSnapshot) -> None:
        self.query_one(SystemPanel).add_snapshot(snapshot)

    def _render_header(self) -> None:
        # A poll can land between the dashboard's mount and its header's (seen under load:
        # NoMatches from the runs refresh); the next refresh draws it, a poll later.
        headers = self.query(RunHeader)
        if self.record is not None and headers:
            serving = self.serving.get(self.record.run_dir.name, [])
            headers.first().show(self.record, self.history, self.now, serving)

    @work(thread=True, exclusive=True, group="run-tail", name="run tail")
    def _tail(self, record: RunRecord) -> None:
        worker = get_current_worker()
        lines_tail, backlog = LineTail.from_last_lines(record.stdout_log, LOG_BACKLOG)
        if backlog:
            self.post_message(LogLinesReceived(record.id, backlog))
        metrics = MetricsTail(record.metrics_jsonl)
        media = MediaIndex(record.run_dir)
        listed: list[MediaItem] = []
        sleep = POLL_S
        while not worker.is_cancelled:
            events = metrics.read_events()
            if events:
                self.post_message(MetricsReceived(record.id, events))
            lines, skipped = lines_tail.read_newest_lines(LOG_BATCH_MAX)
            if lines:
                self.post_message(LogLinesReceived(record.id, lines, skipped))
            items = media.read()
            if items != listed:
                listed = items
                self.post_message(MediaListed(record.id, items))
            if len(events) >= CATCH_UP_EVENTS:
                continue
            sleep = POLL_S if events or lines else min(IDLE_POLL_S, sleep * 1.5)
            time.sleep(sleep)

    @on(MetricsReceived)
    def _metrics_received(self, message: MetricsReceived) -> None:
        message.stop()
        if self.record is None or message.run_id != self.record.id or self.history is None:
            return
        if self.history.add(message.events):
            self.chart.data_changed()
            self._render_header()

    @on(MediaListed)
    def _media_listed(self, message: MediaListed) -> None:
        message.stop()
        if self.record is not None and message.run_id == self.record.id:
            self.media.show_items(message.items)

    # ---- log search ------------------------------------------------------------------------

    @property
    def search_bar(self) -> LogSearchBar:
        return self.query_one(LogSearchBar)

    @on(LogPanel.SearchRequested)
    def _search_requested(self, message: LogPanel.SearchRequested) -> None:
        message.stop()
        self.search_bar.open(message.query)

    @on(LogSearchBar.Changed)
    def _search_changed(self, message: LogSearchBar.Changed) -> None:
        message.stop()
        self.log_panel.search(message.query)
        self.search_bar.show_count(*self.log_panel.match_position())

    @on(LogSearchBar.Stepped)
    def _search_stepped(self, message: LogSearchBar.Stepped) -> None:
        message.stop()
        log = self.log_panel
        if log.search_query != message.query:
            log.search(message.query)
        else:
            log.step_match(older=True)
        self.search_bar.show_count(*log.match_position())

    @on(LogSearchBar.Closed)
    def _search_closed(self, message: LogSearchBar.Closed) -> None:
        message.stop()
        self.log_panel.focus()

    @on(LogLinesReceived)
    def _log_received(self, message: LogLinesReceived) -> None:
        message.stop()
        if self.record is None or message.run_id != self.record.id:
            return
        self.log_panel.add_lines(message.lines, message.skipped)
