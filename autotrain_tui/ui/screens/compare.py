"""Compare runs: their curves overlaid, a table of final and best metrics, and the config
keys that differ. Histories are read in a thread worker; `v` cycles the overlaid metric."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label

from autotrain_tui.core.runs import RunRecord
from autotrain_tui.core.tail import MetricsTail
from autotrain_tui.ui.config_diff import differing_keys, read_flat_config
from autotrain_tui.ui.format import number
from autotrain_tui.ui.messages import MetricsReceived
from autotrain_tui.ui.metric_history import MetricHistory
from autotrain_tui.ui.widgets.compare_chart import CompareChart

# The columns of the metrics table: its name column, and each run's `0.0480 (best 0.0480)`.
_METRIC_COLUMNS = 12
_RUN_COLUMNS = 22


class CompareScreen(Screen[None]):
    """Several runs side by side."""

    BINDINGS = [
        Binding("escape,q", "close", "Back"),
        Binding("v", "cycle_metric", "Metric"),
        Binding("l", "log_scale", "Log scale"),
    ]

    def __init__(self, records: Sequence[RunRecord]) -> None:
        super().__init__()
        self.records = list(records)
        self.histories: dict[str, MetricHistory] = {r.id: MetricHistory() for r in records}

    def compose(self) -> ComposeResult:
        with Vertical(id="compare"):
            yield Label(f"Compare {len(self.records)} runs", id="compare-title")
            yield CompareChart(id="compare-chart")
            with Horizontal(id="compare-tables"):
                yield DataTable(id="compare-metrics", cursor_type="row")
                yield DataTable(id="compare-diff", cursor_type="row")
        yield Footer()

    def on_resize(self) -> None:
        # Side by side, each table gets half the width; where a table of these runs would
        # not fit in half (at 80x24 the second run's column was cut), they stack.
        wanted = 2 * (_METRIC_COLUMNS + _RUN_COLUMNS * len(self.records))
        self.query_one("#compare-tables").set_class(self.size.width < wanted, "-stacked")

    def on_mount(self) -> None:
        self.on_resize()
        self.query_one(CompareChart).show(self.records, self.histories)
        diff: DataTable[str] = self.query_one("#compare-diff", DataTable)
        configs = [read_flat_config(r.config_yaml) for r in self.records]
        diff.add_columns("config key", *[_short(r.id) for r in self.records])
        rows = differing_keys(configs)
        for key, values in rows:
            diff.add_row(key, *values)
        if not rows:
            diff.add_row("(configs identical)", *["" for _ in self.records])
        self._load()

    @work(thread=True, name="compare loader", exit_on_error=False)
    def _load(self) -> None:
        for record in self.records:
            tail = MetricsTail(record.metrics_jsonl)
            while events := tail.read_events():
                self.post_message(MetricsReceived(record.id, events))

    @on(MetricsReceived)
    def _metrics(self, message: MetricsReceived) -> None:
        history = self.histories.get(message.run_id)
        if history is not None and history.add(message.events):
            self.query_one(CompareChart).refresh()
            self._fill_metrics()

    def _fill_metrics(self) -> None:
        table: DataTable[str] = self.query_one("#compare-metrics", DataTable)
        table.clear(columns=True)
        table.add_columns("metric", *[_short(r.id) for r in self.records])
        names = sorted(set().union(*(h.series for h in self.histories.values())))
        for name in names:
            cells = []
            for record in self.records:
                history = self.histories[record.id]
                last, best = history.last(name), history.best(name)
                cells.append(f"{number(last)} (best {number(best)})" if last is not None else "-")
            table.add_row(name, *cells)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_cycle_metric(self) -> None:
        self.query_one(CompareChart).cycle_view()

    def action_log_scale(self) -> None:
        self.query_one(CompareChart).toggle_log_scale()


def _short(run_id: str) -> str:
    """The distinguishing tail of a run id (`…091500-a3f9`)."""
    return run_id if len(run_id) <= 16 else "…" + run_id[-15:]
