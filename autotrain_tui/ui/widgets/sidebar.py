"""The sidebar: the project's configs (and custom.py) and its runs, with a text filter.

The app pushes data in (`show_configs`, `show_runs`); choosing an entry posts
`OpenFileRequested` or `RunSelected`. The filter matches a run's id, status and config, so
`running` or `failed` filters by status (and a SLURM run's job ids and state: `slurm`,
`pending`); `space` marks runs for the compare view. The list
shows the newest `MAX_RUNS_SHOWN` runs that match (the rest are a filter away) and, on a
poll that only moved clocks and metrics, replaces just the lines that changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from autotrain_tui.core.runs import RunRecord
from autotrain_tui.ui.format import STATUS_GLYPH, STATUS_STYLE, duration, number, short_metric_name
from autotrain_tui.ui.messages import OpenFileRequested, RunSelected
from autotrain_tui.ui.slurm_text import job_text, live_state, slurm_info, time_left_text

if TYPE_CHECKING:
    from autotrain_tui.ui.run_summary import RunSummary


# The runs list shows the newest this many (matching the filter); older ones are a filter
# away. A thousand two-line rows would cost the list a few hundred ms to lay out.
MAX_RUNS_SHOWN = 200
MORE_RUNS_ID = "-more-runs-"


def run_elapsed(record: RunRecord, now: float) -> float | None:
    """Seconds the run has trained, a resumed run's earlier attempts included."""
    return record.elapsed_s(now)


# The columns a run id has in the runs list (sidebar, less its border, the mark and status
# glyph, and a one-column scrollbar): `digits-20251125-094640-a3f9` fits whole.
RUN_ID_WIDTH = 27
_ID_TAIL = 20  # `20251125-094640-a3f9`: the part that tells runs of one config apart


def fit_run_id(run_id: str, width: int = RUN_ID_WIDTH) -> str:
    """`run_id` in `width` columns, cut in the middle so its distinguishing tail stays."""
    if len(run_id) <= width:
        return run_id
    head = max(1, width - _ID_TAIL - 1)
    return run_id[:head] + "…" + run_id[-(width - head - 1) :]


def sweep_points(records: Sequence[RunRecord]) -> dict[str, str]:
    """For each run of a sweep, the overrides that set it apart from the sweep's other runs
    (all of its overrides when it is the only one listed): run id -> `k=v k=v`."""
    by_sweep: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for record in records:
        if record.sweep is not None and record.overrides:
            pairs = dict(o.split("=", 1) for o in record.overrides if "=" in o)
            by_sweep.setdefault(record.sweep, []).append((record.id, pairs))
    out: dict[str, str] = {}
    for runs in by_sweep.values():
        keys = list(dict.fromkeys(k for _, pairs in runs for k in pairs))
        if len(runs) > 1:
            keys = [k for k in keys if len({pairs.get(k) for _, pairs in runs}) > 1]
        for run_id, pairs in runs:
            shown = [f"{k}={pairs[k]}" for k in keys if k in pairs]
            if shown:
                out[run_id] = " ".join(shown)
    return out


def run_line(
    record: RunRecord,
    summary: RunSummary | None,
    now: float,
    marked: bool,
    recorded_id: str | None = None,
    point: str | None = None,
) -> Text:
    """Two lines: glyph and id; then progress, elapsed time and the key metric.

    A SLURM run has a line for its job (`slurm 123 · 2h07m left`); while it is live and not
    yet running (or running without progress yet), the scheduler's state takes the place of
    the progress (`PENDING (Resources)`).

    A third line for a sweep's run says its `point` (the overrides that set it apart, so
    two points never look alike); for a copied run directory, `recorded_id` is the id its
    `run.json` names when that is not its directory's.
    """
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("+" if marked else " ", style="bold yellow")
    text.append(STATUS_GLYPH[record.status], style=STATUS_STYLE[record.status])
    text.append(f" {fit_run_id(record.id)}\n", style="bold" if marked else "")
    details = []
    slurm = slurm_info(record)
    progress = summary is not None and (
        summary.progress.epoch is not None or summary.progress.step is not None
    )
    state = live_state(record)  # PENDING (Resources): the scheduler's word, while live
    if state is not None and slurm is not None and (slurm.state != "RUNNING" or not progress):
        details.append(slurm.shown_state)
    elif summary is not None and summary.progress.epoch is not None:
        epochs = summary.progress.max_epochs
        details.append(f"e{summary.progress.display_epoch}" + (f"/{epochs}" if epochs else ""))
    elif summary is not None and summary.progress.step is not None:
        details.append(f"s{summary.progress.step}")
    else:
        details.append(record.status.value)
    details.append(duration(run_elapsed(record, now), coarse=True))
    if summary is not None and summary.metric and summary.value is not None:
        details.append(f"{short_metric_name(summary.metric)} {number(summary.value)}")
    text.append("   " + " ".join(details), style="dim")
    if slurm is not None:
        left = time_left_text(slurm, coarse=True) if slurm.state == "RUNNING" else None
        job = job_text(slurm) + (f" · {left}" if left and record.is_live else "")
        text.append(f"\n   {job}", style="blue")
    if point:
        text.append(f"\n   {point}", style="cyan")
    if recorded_id is not None:  # a line of its own: the sidebar is narrow
        tail = recorded_id if len(recorded_id) <= 16 else "…" + recorded_id[-15:]
        text.append(f"\n   ⚠ copy of {tail}", style="yellow")
    return text


def filter_key(record: RunRecord) -> str:
    """What the filter matches: id, status and config; for a SLURM run also `slurm`, its
    job ids and, while live, its state (`/pending` finds the jobs that wait)."""
    key = f"{record.id} {record.status.value} {record.config or ''}"
    slurm = slurm_info(record)
    if slurm is not None:
        key += " slurm " + " ".join(dict.fromkeys([*slurm.jobs, slurm.job_id or ""]))
        key += f" {live_state(record) or ''}"
    return key.lower()


class RunList(OptionList):
    """The runs, newest first; `space` marks one for compare."""

    BINDINGS = [Binding("space", "toggle_mark", "Mark", tooltip="Mark for compare")]

    def action_toggle_mark(self) -> None:
        sidebar = self.parent
        if isinstance(sidebar, Sidebar) and self.highlighted is not None:
            option = self.get_option_at_index(self.highlighted)
            if option.id is not None and option.id != MORE_RUNS_ID:
                sidebar.toggle_mark(option.id)


class Sidebar(Vertical):
    """Configs above, runs below, filter on top."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.configs: list[Path] = []
        self.records: list[RunRecord] = []
        self.summaries: dict[str, RunSummary] = {}
        self.copies: dict[str, str] = {}
        self.marked: set[str] = set()
        self.now = 0.0
        self.limit = MAX_RUNS_SHOWN
        self._shown_configs: list[str] | None = None
        self._shown_runs: list[tuple[str, str]] | None = None
        self._shown_title = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter (text or status)", id="filter")
        yield Label("Configs", classes="sidebar-title")
        yield OptionList(id="configs")
        yield Label("Runs", classes="sidebar-title", id="runs-title")
        yield RunList(id="runs")

    @property
    def filter_text(self) -> str:
        return self.query_one("#filter", Input).value.strip().lower()

    def show_configs(self, paths: Sequence[Path]) -> None:
        self.configs = list(paths)
        self._render_configs()

    def show_runs(
        self,
        records: Sequence[RunRecord],
        summaries: dict[str, RunSummary],
        now: float,
        limit: int = MAX_RUNS_SHOWN,
        copies: dict[str, str] | None = None,
    ) -> None:
        """List `records` (newest first), at most `limit` of them (the first poll lists a
        screenful: the list measures every line it is given)."""
        self.records = list(records)
        self.summaries = summaries
        self.copies = copies or {}
        self.now = now
        self.limit = min(limit, MAX_RUNS_SHOWN)
        self.marked &= {r.id for r in records}
        self._render_runs()

    def toggle_mark(self, run_id: str) -> None:
        self.marked.symmetric_difference_update({run_id})
        self._render_runs()

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        self._render_configs()
        self._render_runs()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.query_one("#runs", RunList).focus()

    def _render_configs(self) -> None:
        wanted = self.filter_text
        names = [p for p in self.configs if wanted in p.name.lower()]
        key = [str(p) for p in names]
        if key == self._shown_configs:
            return
        self._shown_configs = key
        options = self.query_one("#configs", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        # Text, not a str that Textual would read as markup (a name may hold brackets).
        options.add_options([Option(Text(p.name), id=str(p)) for p in names])
        if names:
            options.highlighted = min(highlighted or 0, len(names) - 1)

    def _render_runs(self) -> None:
        wanted = self.filter_text
        shown = [r for r in self.records if not wanted or wanted in filter_key(r)]
        title = f"Runs ({len(shown)}/{len(self.records)})" if wanted else f"Runs ({len(shown)})"
        if title != self._shown_title:  # an update re-lays out the sidebar: only on change
            self._shown_title = title
            self.query_one("#runs-title", Label).update(title)
        hidden = max(0, len(shown) - self.limit)
        points = sweep_points(self.records)
        lines = [
            (
                r.id,
                run_line(
                    r,
                    self.summaries.get(r.id),
                    self.now,
                    r.id in self.marked,
                    self.copies.get(r.id),
                    points.get(r.id),
                ),
            )
            for r in shown[: self.limit]
        ]
        if hidden:
            more = Text(f" … {hidden} older (/ to filter)", style="dim italic")
            lines.append((MORE_RUNS_ID, more))
        key = [(run_id, text.plain) for run_id, text in lines]
        if key == self._shown_runs:
            return
        runs = self.query_one("#runs", RunList)
        previous_key, self._shown_runs = self._shown_runs, key
        if previous_key is not None and [k for k, _ in previous_key] == [k for k, _ in key]:
            # Same runs in the same order (the usual poll: a clock or a metric moved):
            # replace only the lines that changed, keeping the list's scroll and cursor.
            for index, ((_, before), (_, text)) in enumerate(zip(previous_key, lines, strict=True)):
                if before != text.plain:
                    runs.replace_option_prompt_at_index(index, text)
            return
        previous = None
        if runs.highlighted is not None and runs.highlighted < runs.option_count:
            previous = runs.get_option_at_index(runs.highlighted).id
        runs.clear_options()
        runs.add_options([Option(text, id=run_id) for run_id, text in lines])
        if hidden:
            runs.disable_option(MORE_RUNS_ID)
        ids = [run_id for run_id, _ in lines]
        if previous in ids:
            runs.highlighted = ids.index(previous)
        elif ids:
            runs.highlighted = 0

    def highlight_config(self, path: Path) -> None:
        """Put the configs list's cursor on `path` (the file the editor shows), if listed."""
        options = self.query_one("#configs", OptionList)
        if self._shown_configs is not None and str(path) in self._shown_configs:
            options.highlighted = self._shown_configs.index(str(path))

    @on(OptionList.OptionSelected, "#configs")
    def _config_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(OpenFileRequested(Path(event.option.id)))

    @on(OptionList.OptionSelected, "#runs")
    def _run_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and event.option.id != MORE_RUNS_ID:
            self.post_message(RunSelected(event.option.id))

    def _shown_runs_ids(self) -> list[str]:
        return [run_id for run_id, _ in self._shown_runs or [] if run_id != MORE_RUNS_ID]

    def highlighted_run(self) -> str | None:
        runs = self.query_one("#runs", RunList)
        if runs.highlighted is None or runs.highlighted >= runs.option_count:
            return None
        run_id = runs.get_option_at_index(runs.highlighted).id
        return None if run_id == MORE_RUNS_ID else run_id
