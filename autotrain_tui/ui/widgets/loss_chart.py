"""The loss chart: train and validation loss on one plot (or another metric), drawn with
plotext through textual-plotext.

It redraws only when its run's history changed (the tail worker delivers a few batches a
second at most) or its size did, with every series downsampled to about two points per
cell column (braille dots), so a million-step run costs the same to draw as a short one.
`l` toggles a log y axis, `m` cycles smoothing (TensorBoard's debiased EMA), `v` cycles
the metric shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from autotrain_tui.ui.metric_history import MetricHistory

SMOOTHING_STEPS = (0.0, 0.6, 0.9, 0.97)
LOSS_VIEW = "loss"


def downsample(
    xs: Sequence[float], ys: Sequence[float], buckets: int
) -> tuple[list[float], list[float]]:
    """At most `buckets` points: the mean of each run of consecutive points."""
    n = len(xs)
    if n <= buckets or buckets <= 0:
        return list(xs), list(ys)
    out_x: list[float] = []
    out_y: list[float] = []
    for b in range(buckets):
        start, end = b * n // buckets, (b + 1) * n // buckets
        if end <= start:
            continue
        values = [v for v in ys[start:end] if not math.isnan(v)]
        if not values:
            continue
        out_x.append(sum(xs[start:end]) / (end - start))
        out_y.append(sum(values) / len(values))
    return out_x, out_y


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average, debiased at the start (as TensorBoard draws it)."""
    if weight <= 0:
        return list(values)
    out: list[float] = []
    last = 0.0
    count = 0
    for value in values:
        if math.isnan(value) or math.isinf(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        out.append(last / (1 - weight**count))
    return out


class LossChart(PlotextPlot):
    """The dashboard's chart; the dashboard hands it a `MetricHistory` and says when it grew."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: MetricHistory | None = None
        self.view = LOSS_VIEW
        self.log_scale = False
        self.smoothing_index = 0
        self.drawn_version = -1
        self.draw_count = 0

    @property
    def smoothing(self) -> float:
        return SMOOTHING_STEPS[self.smoothing_index]

    def show_history(self, history: MetricHistory | None) -> None:
        self.history = history
        self.view = LOSS_VIEW
        self.drawn_version = -1
        self.refresh()

    def data_changed(self) -> None:
        """Redraw if the history moved since the last frame (Textual coalesces refreshes)."""
        if self.history is not None and self.history.version != self.drawn_version:
            self.refresh()

    def toggle_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self.refresh()

    def cycle_smoothing(self) -> None:
        self.smoothing_index = (self.smoothing_index + 1) % len(SMOOTHING_STEPS)
        self.refresh()

    def views(self) -> list[str]:
        names = self.history.names() if self.history else []
        others = [n for n in names if n not in ("train/loss", "val/loss")]
        return [LOSS_VIEW, *others]

    def cycle_view(self) -> None:
        views = self.views()
        index = views.index(self.view) if self.view in views else 0
        self.view = views[(index + 1) % len(views)]
        self.refresh()

    def shown_names(self) -> list[str]:
        if self.history is None:
            return []
        if self.view == LOSS_VIEW:
            return [n for n in ("train/loss", "val/loss") if n in self.history.series]
        return [self.view] if self.view in self.history.series else []

    def title(self) -> str:
        parts = ["loss (train, val)" if self.view == LOSS_VIEW else self.view]
        if self.log_scale:
            parts.append("log")
        if self.smoothing:
            parts.append(f"smoothing {self.smoothing:g}")
        return " · ".join(parts)

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_figure()
        history = self.history
        names = self.shown_names()
        buckets = max(8, self.size.width * 2)
        positive = True
        for name in names:
            assert history is not None
            series = history.series[name]
            ys = smooth(series.values, self.smoothing)
            xs, ys = downsample(series.steps, ys, buckets)
            positive = positive and all(y > 0 for y in ys)
            marker = "braille" if len(xs) > 1 else "dot"
            plt.plot(xs, ys, label=name.replace("/", " "), marker=marker)
        title = self.title()
        if self.log_scale and names and positive:
            plt.yscale("log")
        elif self.log_scale and names:
            title += " (values ≤ 0: linear)"
        if not names:
            title = "waiting for metrics…" if history is not None else "no run selected"
        plt.title(title)
        plt.xlabel("step")
        if history is not None:
            self.drawn_version = history.version
        self.draw_count += 1
        return super().render()
