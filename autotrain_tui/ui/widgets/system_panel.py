"""The system panel: per-GPU utilisation, memory, temperature and power with short history
sparklines, the selected run's process tree (CPU %, RSS, GPU memory) and the host's.

It only reads the frozen `SystemSnapshot`s the sampler worker posts (nothing here touches
NVML or psutil), keeping the last few values per GPU for the sparklines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from autotrain_tui.ui.format import size

if TYPE_CHECKING:
    from autotrain_tui.core.sampler import GpuSnapshot, SystemSnapshot

HISTORY = 24
_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], top: float = 100.0) -> str:
    """One character per value, scaled to `top` (values above it are clamped)."""
    out = []
    for value in values:
        level = 0 if top <= 0 else int(min(1.0, max(0.0, value / top)) * (len(_BARS) - 1))
        out.append(_BARS[level])
    return "".join(out)


def _lines(text: Text) -> int:
    return text.plain.count("\n") + 1


class SystemPanel(Vertical):
    """GPUs, the run's processes, the host: three parts, each repainted only when it changed."""

    PARTS = ("gpus", "run", "host")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_id: str | None = None
        self.snapshot: SystemSnapshot | None = None
        self._util: dict[int, deque[float]] = {}
        self._mem: dict[int, deque[float]] = {}
        self._cpu: deque[float] = deque(maxlen=HISTORY)
        self._shown: dict[str, Text] = {}

    def compose(self) -> ComposeResult:
        yield Static("sampling…", id="system-gpus")
        yield Static(id="system-run")
        yield Static(id="system-host")

    def render_text(self) -> str:
        """What the panel shows, as plain text (what tests read)."""
        return "\n".join(self._shown[part].plain for part in self.PARTS if part in self._shown)

    def show_run(self, run_id: str | None) -> None:
        self.run_id = run_id
        self._redraw()

    def add_snapshot(self, snapshot: SystemSnapshot) -> None:
        self.snapshot = snapshot
        for gpu in snapshot.gpus:
            util = self._util.setdefault(gpu.index, deque(maxlen=HISTORY))
            mem = self._mem.setdefault(gpu.index, deque(maxlen=HISTORY))
            util.append(gpu.utilization_percent or 0.0)
            if gpu.memory_used_bytes is not None and gpu.memory_total_bytes:
                mem.append(100.0 * gpu.memory_used_bytes / gpu.memory_total_bytes)
        self._cpu.append(snapshot.host.cpu_percent)
        self._redraw()

    def _redraw(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return  # "sampling…" until the first snapshot
        gpus = Text(no_wrap=True, overflow="ellipsis")
        if snapshot.gpus:
            for gpu in snapshot.gpus:
                self._gpu_line(gpus, gpu)
            gpus.rstrip()
        else:
            gpus.append(snapshot.gpu_message or "no NVIDIA GPU", style="dim")
        run = Text(no_wrap=True, overflow="ellipsis")
        usage = snapshot.run(self.run_id) if self.run_id else None
        run.append("run  ", style="bold")
        if usage is not None and usage.alive:
            run.append(
                f"{usage.process_count} proc · CPU {usage.cpu_percent:.0f}% · "
                f"RSS {size(usage.rss_bytes)}"
            )
            if usage.gpu_memory_bytes is not None:
                run.append(f" · GPU mem {size(usage.gpu_memory_bytes)}")
        else:
            run.append("no live processes", style="dim")
        host = snapshot.host
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("host ", style="bold")
        line.append(
            f"CPU {host.cpu_percent:3.0f}% of {host.cpu_count} "
            f"{sparkline(self._cpu)} · mem {size(host.memory_used_bytes)}"
            f"/{size(host.memory_total_bytes)}"
        )
        for part, text in zip(self.PARTS, (gpus, run, line), strict=True):
            shown = self._shown.get(part)
            if text != shown:
                # The same number of lines (the usual tick) needs a repaint, not a new layout.
                same_height = shown is not None and _lines(shown) == _lines(text)
                self._shown[part] = text
                self.query_one(f"#system-{part}", Static).update(text, layout=not same_height)

    def _gpu_line(self, text: Text, gpu: GpuSnapshot) -> None:
        text.append(f"GPU{gpu.index} ", style="bold")
        if gpu.lost:
            text.append("lost (not answering)\n", style="bold red")
            return
        util = gpu.utilization_percent
        text.append(f"{util:3.0f}% " if util is not None else "  -% ")
        text.append(sparkline(self._util.get(gpu.index, ())), style="cyan")
        if gpu.memory_used_bytes is not None and gpu.memory_total_bytes:
            text.append(f" mem {size(gpu.memory_used_bytes)}/{size(gpu.memory_total_bytes)} ")
            text.append(sparkline(self._mem.get(gpu.index, ())), style="magenta")
        if gpu.temperature_c is not None:
            text.append(f" {gpu.temperature_c:.0f}°C")
        if gpu.power_w is not None:
            limit = f"/{gpu.power_limit_w:.0f}" if gpu.power_limit_w else ""
            text.append(f" {gpu.power_w:.0f}{limit} W")
        if gpu.name:
            text.append(f" {gpu.name}", style="dim")
        text.append("\n")
