"""One line of facts per run for the sidebar: progress and the latest key metric.

Kept by the app's runs poller (a thread worker), so reading files never blocks the screen.
A live run's `metrics.jsonl` is tailed incrementally; a finished run's is read once, from
its first and last lines only, so opening a project with a thousand past runs stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from autotrain_tui.core.runs import RunRecord
from autotrain_tui.core.tail import LineTail, MetricsTail
from autotrain_tui.ui.metric_history import MetricHistory, Progress

_LAST_LINES = 12  # enough for the last progress record and the latest validation values
_FIRST_LINE_MAX = 4096
_POINTS_KEPT = 4


@dataclass(frozen=True)
class RunSummary:
    """What the runs list shows beside a run's id and status."""

    progress: Progress
    metric: str | None
    value: float | None


class RunSummaries:
    """Summaries of many runs, refreshed incrementally. Used from one thread at a time."""

    def __init__(self) -> None:
        self._tails: dict[str, MetricsTail] = {}
        self._histories: dict[str, MetricHistory] = {}

    def update(
        self, records: Iterable[RunRecord], first_reads: int | None = None
    ) -> dict[str, RunSummary]:
        """Summaries of `records`; at most `first_reads` finished runs are read for the first
        time in this call (in the order given: newest first), the rest on later calls.

        A project opened with a thousand past runs shows its newest runs' facts at once and
        fills in the older ones over the next polls, instead of holding the list back.
        """
        out: dict[str, RunSummary] = {}
        seen = set()
        budget = first_reads
        for record in records:
            seen.add(record.id)
            history = self._histories.get(record.id)
            tail = self._tails.get(record.id)
            if record.is_live:
                if tail is None:
                    tail = self._tails[record.id] = MetricsTail(record.metrics_jsonl)
                if history is None:
                    history = self._histories[record.id] = MetricHistory(_POINTS_KEPT)
                history.add(tail.read_events())
            elif tail is not None and history is not None:
                history.add(tail.read_events())  # the last records, then let the file go
                del self._tails[record.id]
            elif history is None:
                if budget is not None:
                    if budget <= 0:
                        continue  # read on a later call; the list shows its status meanwhile
                    budget -= 1
                history = self._histories[record.id] = _read_end(record)
            metric = history.key_metric()
            out[record.id] = RunSummary(
                history.progress, metric, history.last(metric) if metric else None
            )
        for gone in set(self._histories) - seen:
            self._histories.pop(gone, None)
            self._tails.pop(gone, None)
        return out


def _read_end(record: RunRecord) -> MetricHistory:
    """A finished run's summary from the first record (which names the monitored metric)
    and the last few (progress, latest values): two small reads, whatever the file's size."""
    history = MetricHistory(_POINTS_KEPT)
    try:
        with open(record.metrics_jsonl, "rb") as handle:
            first = handle.readline(_FIRST_LINE_MAX)
    except OSError:
        return history
    _, lines = LineTail.from_last_lines(record.metrics_jsonl, _LAST_LINES)
    events = []
    for line in [first.decode("utf-8", errors="replace"), *lines]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    history.add(events)
    return history
