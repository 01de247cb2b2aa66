"""How run facts read on screen: status glyphs and colours, durations, sizes, numbers."""

from __future__ import annotations

import math

from autotrain_tui.core.runs import RunStatus

# A glyph and a colour per status: colour alone is not enough on a 16-colour terminal.
STATUS_GLYPH: dict[RunStatus, str] = {
    RunStatus.QUEUED: "◌",
    RunStatus.RUNNING: "●",
    RunStatus.COMPLETED: "✔",
    RunStatus.FAILED: "✖",
    RunStatus.STOPPED: "■",
    RunStatus.LOST: "?",
    RunStatus.PRUNED: "✂",
}
STATUS_STYLE: dict[RunStatus, str] = {
    RunStatus.QUEUED: "yellow",
    RunStatus.RUNNING: "bold cyan",
    RunStatus.COMPLETED: "green",
    RunStatus.FAILED: "bold red",
    RunStatus.STOPPED: "magenta",
    RunStatus.LOST: "dim",
    RunStatus.PRUNED: "dim magenta",
}


def duration(seconds: float | None, *, coarse: bool = False) -> str:
    """`42s`, `3m05s`, `2h07m`, `3d04h`; `-` when unknown.

    `coarse` drops the seconds after the first minute (`3m`): the runs list then changes once
    a minute instead of every second, so a screen of long runs is not repainted for nothing.
    """
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m" if coarse else f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def size(num_bytes: float | None) -> str:
    """Bytes in binary units with three significant figures: `512 B`, `1.5 GiB`."""
    if num_bytes is None:
        return "-"
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} TiB"  # pragma: no cover - loop always returns


def number(value: float | None) -> str:
    """A metric value in at most 6 characters-ish: `0.9731`, `1.2e-05`, `123.4`."""
    if value is None:
        return "-"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
        return f"{value:.2e}"
    if magnitude >= 100:
        return f"{value:.1f}"
    return f"{value:.4f}"


def short_metric_name(name: str) -> str:
    """`val/acc` → `acc`, `train/loss` → `loss`: the sidebar has little room."""
    return name.rsplit("/", 1)[-1]
