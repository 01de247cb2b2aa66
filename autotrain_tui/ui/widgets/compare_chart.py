"""One metric of several runs overlaid on one plot (for the compare and sweep screens)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from autotrain_tui.core.runs import RunRecord
from autotrain_tui.ui.metric_history import MetricHistory
from autotrain_tui.ui.widgets.loss_chart import XLABEL_MIN_HEIGHT, downsample, set_step_ticks

PREFERRED = ("val/loss", "train/loss")
# plotext's own sequence without its gray, which marks a dimmed run (a pruned trial).
COLORS = ("blue+", "green+", "red+", "cyan+", "magenta+", "yellow", "blue", "green", "red")
DIMMED = "gray"


class CompareChart(PlotextPlot):
    """Draws `metric` of every run, downsampled to the plot's width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: list[RunRecord] = []
        self.histories: dict[str, MetricHistory] = {}
        self.metric: str | None = None
        self.log_scale = False
        self.dimmed: set[str] = set()
        self.highlighted: str | None = None

    def show(
        self,
        records: Sequence[RunRecord],
        histories: dict[str, MetricHistory],
        *,
        dimmed: set[str] | None = None,
        highlighted: str | None = None,
    ) -> None:
        """Plot `records`; the `dimmed` ones in gray, the `highlighted` one bold and starred."""
        self.records = list(records)
        self.histories = histories
        self.dimmed = dimmed or set()
        self.highlighted = highlighted
        self.refresh()

    def names(self) -> list[str]:
        return sorted(set().union(*(h.series for h in self.histories.values())))

    def current_metric(self) -> str | None:
        names = self.names()
        if self.metric in names:
            return self.metric
        return next((n for n in PREFERRED if n in names), names[0] if names else None)

    def cycle_view(self) -> None:
        names = self.names()
        if names:
            current = self.current_metric()
            index = names.index(current) if current in names else -1
            self.metric = names[(index + 1) % len(names)]
            self.refresh()

    def toggle_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self.refresh()

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_figure()
        metric = self.current_metric()
        positive = True
        plotted: list[list[float]] = []
        if metric is not None:
            for record in self.records:
                series = self.histories[record.id].series.get(metric)
                if series is None or not len(series):
                    continue
                xs, ys = downsample(series.steps, series.values, max(8, self.size.width * 2))
                positive = positive and all(y > 0 for y in ys)
                best = record.id == self.highlighted
                plt.plot(
                    xs,
                    ys,
                    label=("* " if best else "") + record.id[-12:],
                    marker="braille" if len(xs) > 1 else "dot",
                    color=DIMMED
                    if record.id in self.dimmed
                    else COLORS[len(plotted) % len(COLORS)],
                    style="bold" if best else None,
                )
                plotted.append(xs)
        set_step_ticks(plt, plotted, self.size.width)
        if self.log_scale and positive and metric:
            plt.yscale("log")
        plt.title(f"{metric or 'no metrics'} (v: next metric, l: log scale)")
        if self.size.height >= XLABEL_MIN_HEIGHT:  # a short chart keeps the row for the curve
            plt.xlabel("step")
        return super().render()
