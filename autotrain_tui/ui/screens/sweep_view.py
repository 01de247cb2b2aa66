"""A sweep's trials: the table `autotrain-tui sweeps SWEEP` prints (sortable, the best trial
highlighted) above the curves of every trial overlaid, pruned ones dimmed.

Refreshed every second from a thread worker while the screen is open: a `TrialScanner`
and one `MetricsTail` per run read only what the runs appended since, so a running sweep
moves on screen without re-reading a finished trial. `enter` shows a trial's dashboard;
`S` / `R` stop or resume the whole sweep as on the dashboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label

from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.core.tail import MetricsTail
from autotrain_tui.core.trials import TrialScanner, TrialTable, trial_table
from autotrain_tui.ui.format import number
from autotrain_tui.ui.metric_history import MetricHistory
from autotrain_tui.ui.widgets.compare_chart import CompareChart

if TYPE_CHECKING:
    from autotrain_tui.core.project import Project

REFRESH_S = 1.0


class SweepScreen(Screen[None]):
    """One sweep's trials, table and curves."""

    BINDINGS = [
        Binding("escape,q", "close", "Back"),
        Binding("o", "next_sort", "Sort"),
        Binding("O", "reverse_sort", "Reverse"),
        Binding("v", "cycle_metric", "Metric"),
        Binding("l", "log_scale", "Log scale"),
        Binding("S", "stop_sweep", "Stop sweep"),
        Binding("R", "resume_sweep", "Resume sweep"),
    ]

    def __init__(self, project: Project, sweep_id: str, run_id: str | None = None) -> None:
        super().__init__()
        self.project = project
        self.sweep_id = sweep_id
        self.table: TrialTable | None = None
        self.records: dict[str, RunRecord] = {}
        self.histories: dict[str, MetricHistory] = {}
        self.sort_column = "trial"
        self.descending = False
        self._cursor_run = run_id  # the row the cursor keeps across refreshes
        self._scanner = TrialScanner()
        self._tails: dict[str, MetricsTail] = {}
        self._loading = False
        self._error: str | None = None  # said once, not at every refresh

    def compose(self) -> ComposeResult:
        with Vertical(id="sweep-view"):
            yield Label(self.sweep_id, id="sweep-title")
            yield CompareChart(id="sweep-chart")
            yield DataTable(id="sweep-trials", cursor_type="row", zebra_stripes=False)
        yield Footer()

    def on_mount(self) -> None:
        self._load()
        self.set_interval(REFRESH_S, self._load)

    # ---- reading (a thread) ---------------------------------------------------------------

    @work(thread=True, group="sweep view", name="sweep loader", exit_on_error=False)
    def _load(self) -> None:
        if self._loading:
            return  # the previous read is still going (a slow disk): skip this tick
        self._loading = True
        try:
            records = self.project.list_runs(sweep=self.sweep_id)
            table = trial_table(self.project.runs_dir, self.sweep_id, records, self._scanner)
            events: dict[str, list[dict[str, Any]]] = {}
            for record in records:
                tail = self._tails.get(record.id)
                if tail is None:
                    tail = self._tails[record.id] = MetricsTail(record.metrics_jsonl)
                events[record.id] = tail.read_events()
        except ManagerError as error:
            if str(error) != self._error:
                self._error = str(error)
                self.app.call_from_thread(self.notify, self._error, severity="error", timeout=8)
            return
        finally:
            self._loading = False
        self._error = None
        self.app.call_from_thread(self._apply, table, records, events)

    def _apply(
        self,
        table: TrialTable,
        records: list[RunRecord],
        events: dict[str, list[dict[str, Any]]],
    ) -> None:
        self.records = {r.id: r for r in records}
        grew = False
        for run_id, new in events.items():
            history = self.histories.setdefault(run_id, MetricHistory())
            grew = history.add(new) or grew
        chart = self.query_one(CompareChart)
        if chart.metric is None:
            chart.metric = table.metric
        if grew or table != self.table:
            ordered = [self.records[t.run_id] for t in table.trials if t.run_id in self.records]
            pruned = {t.run_id for t in table.trials if t.status is RunStatus.PRUNED}
            best = table.best.run_id if table.best else None
            chart.show(ordered, self.histories, dimmed=pruned, highlighted=best)
        if table != self.table:
            self.table = table
            self._fill()

    # ---- the table ------------------------------------------------------------------------

    def _fill(self) -> None:
        table = self.table
        if table is None:
            return
        pruner = table.pruner
        halving = f" · ASHA min {pruner.min_resource} x{pruner.reduction_factor}" if pruner else ""
        arrow = "↓" if self.descending else "↑"
        self.query_one("#sweep-title", Label).update(
            f"Sweep {table.sweep_id} · {table.kind} · {table.metric} ({table.mode}){halving} · "
            f"{len(table.trials)} trials · sorted by {self.sort_column} {arrow}"
        )
        view: DataTable[Any] = self.query_one("#sweep-trials", DataTable)
        view.clear(columns=True)
        for column in table.columns:
            view.add_column(column, key=column)
        for trial in table.sorted(self.sort_column, self.descending).trials:
            params = dict(trial.params)
            cells = {
                "trial": ("* " if trial.is_best else "  ") + str(trial.number),
                "status": trial.status.value,
                "best": number(trial.best),
                "epoch": "-" if trial.best_epoch is None else str(trial.best_epoch),
                "epochs": str(trial.epochs),
                "rung": "-" if trial.rung is None else str(trial.rung),
                "run": trial.run_id,
            }
            style = (
                "bold green" if trial.is_best else "dim" if trial.status.value == "pruned" else ""
            )
            row = [Text(cells.get(c, params.get(c, "-")), style=style) for c in table.columns]
            view.add_row(*row, key=trial.run_id)
        if self._cursor_run is not None and self._cursor_run in view.rows:
            view.move_cursor(row=view.get_row_index(self._cursor_run))  # it kept its row

    @on(DataTable.RowHighlighted, "#sweep-trials")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._cursor_run = str(event.row_key.value)

    @on(DataTable.RowSelected, "#sweep-trials")
    def _selected(self, event: DataTable.RowSelected) -> None:
        record = self.records.get(str(event.row_key.value))
        if record is not None:
            self.dismiss(None)
            self.app.show_run(record)  # type: ignore[attr-defined]

    @on(DataTable.HeaderSelected, "#sweep-trials")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        self.descending = not self.descending if column == self.sort_column else False
        self.sort_column = column
        self._fill()

    def action_next_sort(self) -> None:
        if self.table is not None:
            columns = self.table.columns
            index = columns.index(self.sort_column) if self.sort_column in columns else -1
            self.sort_column, self.descending = columns[(index + 1) % len(columns)], False
            self._fill()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self._fill()

    # ---- the rest -------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_cycle_metric(self) -> None:
        self.query_one(CompareChart).cycle_view()

    def action_log_scale(self) -> None:
        self.query_one(CompareChart).toggle_log_scale()

    def action_stop_sweep(self) -> None:
        self._sweep_control("stop")

    def action_resume_sweep(self) -> None:
        self._sweep_control("resume")

    def _sweep_control(self, what: str) -> None:
        record = next(iter(self.records.values()), None)
        if record is not None:  # the same flow (and question) as the dashboard's S / R
            self.app._sweep_control(record, what)  # type: ignore[attr-defined]
