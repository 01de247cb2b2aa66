"""The dashboard's header: status, a progress bar with ETA, elapsed time, the best value of
the monitored metric, and the run's config and overrides; for a SLURM run, a line for its
job (id, earlier jobs, state and reason, node, time left, requeues); a line per model server
over the run (URL, ready, requests served)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.ui.format import STATUS_GLYPH, STATUS_STYLE, duration, number
from autotrain_tui.ui.metric_history import MetricHistory
from autotrain_tui.ui.slurm_text import dashboard_line
from autotrain_tui.ui.widgets.sidebar import run_elapsed

BAR_WIDTH = 12


def progress_bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    if fraction is None:
        return "░" * width
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)


def render_header(
    record: RunRecord,
    history: MetricHistory | None,
    now: float,
    serving: Sequence[str] = (),
) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{STATUS_GLYPH[record.status]} {record.status.value}", STATUS_STYLE[record.status])
    if record.stop_requested and record.is_live:
        grace = record.stop_grace_s
        how = "kill" if record.stop_requested == "kill" else f"stopping (grace {grace or 0:g}s)"
        text.append(f" · {how}", style="yellow")
    text.append(f"  {record.id}", style="bold")
    if record.sweep:
        text.append(f" · sweep {record.sweep}", style="dim")
    text.append("\n")
    slurm = dashboard_line(record)
    if slurm is not None:  # job, state (reason), node, time left, requeues, earlier jobs
        text.append(slurm + "\n", style="blue")
    for line in serving:  # `autotrain-tui serve` over this run: URL, ready, requests
        text.append(line + "\n", style="magenta")
    progress = history.progress if history else None
    fraction = progress.fraction if progress else None
    if record.status is RunStatus.COMPLETED:
        fraction = 1.0
    text.append(progress_bar(fraction), style="cyan")
    text.append(f" {fraction * 100:3.0f}%" if fraction is not None else "    -")
    text.append(f" · elapsed {duration(run_elapsed(record, now))}")
    if record.status is RunStatus.RUNNING and history is not None:
        eta = history.eta_s()
        if eta is not None:
            text.append(f" · ETA {duration(eta)}")
    if progress is not None and progress.describe():
        text.append(f" · {progress.describe()}")
    text.append("\n")
    if history is not None and history.monitor:
        best = history.best()
        text.append(f"best {history.monitor} ({history.mode}) {number(best)}", style="green")
    elif history is not None and history.key_metric():
        name = history.key_metric()
        assert name is not None
        text.append(f"{name} {number(history.last(name))}")
    else:
        text.append("no metrics yet", style="dim")
    config = record.config or "?"
    text.append(f" · {config}", style="dim")
    if record.overrides:
        text.append(" " + " ".join(record.overrides), style="dim italic")
    if record.reason and not record.is_live:
        text.append(f"\n{record.reason}", style="dim")
    elif record.exit_code not in (None, 0):
        text.append(f"\nexit code {record.exit_code}", style="dim")
    return text


def _lines(text: Text) -> int:
    return text.plain.count("\n") + 1


class RunHeader(Static):
    """Re-rendered whenever the record, the history or the clock moves."""

    _shown: Text | None = None

    def show(
        self,
        record: RunRecord,
        history: MetricHistory | None,
        now: float,
        serving: Sequence[str] = (),
    ) -> None:
        text = render_header(record, history, now, serving)
        if text != self._shown:  # most polls change nothing but the clock, often not even it
            # The same number of lines (the usual tick) needs a repaint, not a new layout.
            same_height = self._shown is not None and _lines(self._shown) == _lines(text)
            self._shown = text
            self.update(text, layout=not same_height)
