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
XLABEL_MIN_HEIGHT = 16  # below this the x axis goes unlabelled: its round ticks say "step"
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


def step_ticks(low: float, high: float, count: int = 5) -> tuple[list[int], list[str]]:
    """Round whole steps within `low`..`high`, as near `count` of them as round spacings
    allow, and their labels.

    plotext spaces its ticks evenly between the data's ends ("43.8" steps); a step axis
    reads better at 0, 50, 100 or 10k, 20k.
    """
    first, last = math.ceil(low), math.floor(high)
    if last <= first:
        return [first], [str(first)]
    spacings = [m * 10**k for k in range(len(str(last - first)) + 1) for m in (1, 2, 5)]

    def tick_count(spacing: int) -> int:  # counted, not listed: a million-step axis
        return last // spacing - math.ceil(first / spacing) + 1

    # Fewest ticks wins a tie: labels need room on a narrow chart.
    spacing = min(spacings, key=lambda sp: (abs(tick_count(sp) - count), -sp))
    ticks = list(range(math.ceil(first / spacing) * spacing, last + 1, spacing))
    return ticks, _step_labels(ticks)


def _step_labels(ticks: list[int]) -> list[str]:
    """`20k`, `1.5M`: one unit for the whole axis, chosen by its largest tick."""
    top = max(ticks)
    for unit, suffix, starting in ((1_000_000, "M", 1_000_000), (1000, "k", 10_000)):
        if top >= starting:
            return [f"{t / unit:g}{suffix}" if t else "0" for t in ticks]
    return [str(t) for t in ticks]


def set_step_ticks(plt: object, all_xs: Sequence[Sequence[float]], width: int) -> None:
    """Round step ticks for what is plotted, about one per 14 columns of a chart `width`
    wide (nothing to do for an empty chart)."""
    xs = [x for series in all_xs for x in series]
    if xs:
        ticks, labels = step_ticks(min(xs), max(xs), count=max(2, min(6, width // 14)))
        plt.xticks(ticks, labels)  # type: ignore[attr-defined]


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
        self.marked_steps: list[int] = []  # control commands marked in the last draw

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

    def _mark_control(self, plotted: list[list[float]]) -> list[int]:
        """A vertical line at each step a control command (lr, max_epochs…) landed."""
        xs = [x for series in plotted for x in series]
        if self.history is None or not xs:
            return []
        steps = [s for s in self.history.control_steps if min(xs) <= s <= max(xs)]
        for step in steps:
            self.plt.vline(step, "orange")
        return steps

    def render(self) -> RenderResult:
        plt = self.plt
        plt.clear_figure()
        history = self.history
        names = self.shown_names()
        buckets = max(8, self.size.width * 2)
        positive = True
        plotted: list[list[float]] = []
        for name in names:
            assert history is not None
            series = history.series[name]
            ys = smooth(series.values, self.smoothing)
            xs, ys = downsample(series.steps, ys, buckets)
            positive = positive and all(y > 0 for y in ys)
            marker = "braille" if len(xs) > 1 else "dot"
            plt.plot(xs, ys, label=name.replace("/", " "), marker=marker)
            plotted.append(xs)
        set_step_ticks(plt, plotted, self.size.width)
        self.marked_steps = self._mark_control(plotted)
        title = self.title()
        if self.log_scale and names and positive:
            plt.yscale("log")
        elif self.log_scale and names:
            title += " (values ≤ 0: linear)"
        if not names:
            title = "waiting for metrics…" if history is not None else "no run selected"
        plt.title(title)
        if self.size.height >= XLABEL_MIN_HEIGHT:  # a short chart keeps the row for the curve
            plt.xlabel("step")
        if history is not None:
            self.drawn_version = history.version
        self.draw_count += 1
        return super().render()
