"""One run's metrics as they arrive: series per name, progress, the monitored metric, ETA.

Fed the events of `metrics.jsonl` (docs/run-directory.md) in order, by the dashboard's tail
worker. Pure Python, no Textual: the chart, the header and the compare view read it. Memory
is bounded: past `max_points` per series, every other point is dropped (the chart shows at
most its width anyway; the full record stays on disk).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_POINTS = 20_000


@dataclass(frozen=True)
class Progress:
    """Where a run stands, from its latest record."""

    step: int | None = None
    total_steps: int | None = None
    epoch: int | None = None
    max_epochs: int | None = None

    @property
    def fraction(self) -> float | None:
        if self.step is not None and self.total_steps:
            return min(1.0, max(0.0, self.step / self.total_steps))
        return None

    @property
    def display_epoch(self) -> int | None:
        """The epoch as people count it (from 1); a finished run's `epoch` is one past the last."""
        if self.epoch is None:
            return None
        shown = self.epoch + 1
        return min(shown, self.max_epochs) if self.max_epochs and self.max_epochs > 0 else shown

    def describe(self) -> str:
        """`epoch 3/20 · step 120/560`, with whatever is known."""
        parts = []
        if self.epoch is not None:
            total = f"/{self.max_epochs}" if self.max_epochs else ""
            parts.append(f"epoch {self.display_epoch}{total}")
        if self.step is not None:
            total = f"/{self.total_steps}" if self.total_steps else ""
            parts.append(f"step {self.step}{total}")
        return " · ".join(parts)


class Series:
    """Points (step, value) of one metric, in arrival order, bounded in length."""

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS) -> None:
        self.steps: list[float] = []
        self.values: list[float] = []
        self.max_points = max_points
        self.last: float | None = None
        self.best_min: float | None = None
        self.best_max: float | None = None

    def append(self, step: float, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.last = value
        if not math.isnan(value):
            self.best_min = value if self.best_min is None else min(self.best_min, value)
            self.best_max = value if self.best_max is None else max(self.best_max, value)
        if len(self.steps) > self.max_points:
            self.steps = self.steps[::2]
            self.values = self.values[::2]

    def __len__(self) -> int:
        return len(self.steps)


class MetricHistory:
    """Everything the dashboard knows about one run's metrics."""

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS) -> None:
        self.max_points = max_points
        self.series: dict[str, Series] = {}
        self.monitor: str | None = None
        self.mode: str = "min"
        self.progress = Progress()
        self.first_time: float | None = None
        self.first_step: int | None = None
        self.last_time: float | None = None
        self.end_status: str | None = None
        self.control_steps: list[int] = []  # where a control command landed (the chart's marks)
        self.version = 0  # bumped on every change: the chart redraws only when it moved

    def add(self, events: Iterable[dict[str, Any]]) -> bool:
        """Take new events; True when anything changed."""
        changed = False
        for event in events:
            changed = self._add_one(event) or changed
        if changed:
            self.version += 1
        return changed

    def _add_one(self, event: dict[str, Any]) -> bool:
        kind = event.get("event")
        if kind == "start":
            monitor = event.get("monitor")
            if isinstance(monitor, str):
                self.monitor = monitor
            if event.get("mode") in ("min", "max"):
                self.mode = str(event["mode"])
        elif kind == "end":
            status = event.get("status")
            self.end_status = str(status) if status is not None else "ended"
        elif kind == "control" and isinstance(event.get("step"), int):
            self.control_steps.append(int(event["step"]))
        changed = kind in ("start", "end", "control")
        step = event.get("step")
        time = event.get("time")
        if isinstance(step, int | float) and not isinstance(step, bool):
            self.progress = Progress(
                step=int(step),
                total_steps=_int_or_none(event.get("total_steps")),
                epoch=_int_or_none(event.get("epoch")),
                max_epochs=_int_or_none(event.get("max_epochs")),
            )
            if isinstance(time, int | float):
                if self.first_time is None:
                    self.first_time, self.first_step = float(time), int(step)
                self.last_time = float(time)
            changed = True
        metrics = event.get("metrics")
        if isinstance(metrics, dict) and isinstance(step, int | float):
            for name, value in metrics.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    series = self.series.get(name)
                    if series is None:
                        series = self.series[name] = Series(self.max_points)
                    series.append(float(step), float(value))
                    changed = True
        return changed

    def names(self) -> list[str]:
        return sorted(self.series)

    def best(self, name: str | None = None) -> float | None:
        """Best value of `name` (default: the monitored metric) under the run's mode."""
        name = name or self.monitor
        series = self.series.get(name) if name else None
        if series is None or name is None:
            return None
        mode = self.mode if name == self.monitor else _guess_mode(name)
        return series.best_max if mode == "max" else series.best_min

    def last(self, name: str) -> float | None:
        series = self.series.get(name)
        return series.last if series else None

    def key_metric(self) -> str | None:
        """The metric worth one number in a list: the monitored one, else a loss."""
        for name in (self.monitor, "val/loss", "train/loss"):
            if name and name in self.series:
                return name
        return next(iter(sorted(self.series)), None)

    def eta_s(self) -> float | None:
        """Seconds left at the rate so far (None until two timed records with progress)."""
        p = self.progress
        if (
            p.step is None
            or not p.total_steps
            or self.first_time is None
            or self.last_time is None
            or self.first_step is None
        ):
            return None
        done = p.step - self.first_step
        elapsed = self.last_time - self.first_time
        if done <= 0 or elapsed <= 0:
            return None
        return max(0.0, (p.total_steps - p.step) * elapsed / done)


def _guess_mode(name: str) -> str:
    lowered = name.lower()
    return "max" if any(k in lowered for k in ("acc", "f1", "r2", "auc", "precision")) else "min"


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None
