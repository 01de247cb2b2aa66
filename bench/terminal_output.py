"""Bytes the UI writes to its terminal — what a slow SSH link has to carry — beside a baseline.

    python bench/terminal_output.py                 # 120x40, TERM=xterm-256color (~2 minutes)
    python bench/terminal_output.py --size 80x24 --no-train

Over SSH every byte the UI writes to its terminal crosses the link: a first frame of 100 KB
takes 14 s to arrive at 56 kbit/s, and a UI that repaints a line every second while nothing
happens holds part of the link for as long as it is open. CPU and latency benchmarks
(bench/ui.py) do not see this cost: on a local terminal a repaint is nearly free.

The UI runs in a tmux pane on a private server (its own socket, no user config, the window
pinned at the size asked for); `pipe-pane` records the pane's output — the exact bytes the
application wrote, escape sequences included — from before its first byte (the pane waits
on a tmux channel until the recorder is open). Figures, each beside one from the same run:

- first frame: bytes until the screen settles (everything expected on it, then no change
  for 2 s), against a minimal Textual app (header, list, footer: bench/_minimal_app.py);
- idle with the editor open, and idle with the dashboard of a finished run open: bytes/s
  over a window with nothing happening, against the minimal app idle;
- while a real run trains (configs/digits.yaml, max_epochs 2000, launched with ctrl+r and
  killed from the UI afterwards): bytes/s on screen, against the bytes/s the run appends to
  its stdout.log and metrics.jsonl — what `autotrain-tui logs -f` would send instead.

Each figure is also given as link time: seconds for the first frame to arrive, or the share
of the link a steady rate holds, at 1 Mbit/s and at 56 kbit/s. The terminal is
`TERM=xterm-256color` without `COLORTERM`, as over SSH, where COLORTERM is not forwarded by
default (`--truecolor` sets it: RGB sequences are longer).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil
from ui import BENCH_CONFIG_HOME, make_project, socket_path, write_fake_run

from autotrain_tui.core.groups import group_members
from autotrain_tui.core.runs import process_matches, read_run

REPO = Path(__file__).resolve().parent.parent
ENTRY = Path(sys.executable).parent / "autotrain-tui"
MINIMAL_APP = Path(__file__).resolve().parent / "_minimal_app.py"
LINKS = (("1 Mbit/s", 1_000_000), ("56 kbit/s", 56_000))
SETTLE_S = 2.0  # no screen change for this long after everything expected is on it
# What the UI's editor shows once the default config is open and checked.
UI_SETTLED = ("digits.yaml", "configs/digits.yaml", "_target_", "✔ valid")
_EPOCH = re.compile(r"^epoch (\d+)/2000 ", re.MULTILINE)


@dataclass
class Pane:
    """One application in a tmux pane, its terminal output recorded to `recording`."""

    server: TmuxServer
    session: str
    recording: Path

    def screen(self) -> str:
        return self.server.tmux("capture-pane", "-p", "-t", self.session)

    def bytes_written(self) -> int:
        return self.recording.stat().st_size if self.recording.exists() else 0

    def keys(self, *names: str) -> None:
        self.server.tmux("send-keys", "-t", self.session, *names)


class TmuxServer:
    """A private tmux server: nothing else on the machine is touched, no user config read."""

    def __init__(self, width: int, height: int) -> None:
        self.socket = f"autotrain-bytes-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height
        self.count = 0

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout

    @contextlib.contextmanager
    def pane(self, command: str, recording: Path, cwd: Path = REPO) -> Iterator[Pane]:
        """Run `command` in `cwd` (exec'd by the pane's shell) once its output is recorded."""
        self.count += 1
        name = f"p{self.count}"
        size = ("-x", str(self.width), "-y", str(self.height))
        where = shlex.quote(str(cwd))
        gate = f"tmux -L {self.socket} wait-for {name}-go && cd {where} && exec {command}"
        self.tmux("new-session", "-d", "-s", name, *size, gate)
        self.tmux("set-option", "-t", name, "window-size", "manual")
        self.tmux("resize-window", "-t", name, *size)
        self.tmux("pipe-pane", "-o", "-t", name, f"cat >> {shlex.quote(str(recording))}")
        self.tmux("wait-for", "-S", f"{name}-go")
        try:
            yield Pane(self, name, recording)
        finally:
            self._kill(name)

    def _kill(self, name: str) -> None:
        """End the session and the application's whole process tree (a background
        `recipe check` of the UI included), by pid."""
        procs: list[psutil.Process] = []
        with contextlib.suppress(ValueError, psutil.Error):
            root = psutil.Process(
                int(self.tmux("display-message", "-p", "-t", name, "#{pane_pid}"))
            )
            procs = [root, *root.children(recursive=True)]
        self.tmux("kill-session", "-t", name)
        _, alive = psutil.wait_procs(procs, timeout=3)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=3)

    def close(self) -> None:
        self.tmux("kill-server")
        socket_path(self.socket).unlink(missing_ok=True)  # tmux 3.3 leaves it behind


def environment(truecolor: bool) -> str:
    colour = "COLORTERM=truecolor" if truecolor else "-u COLORTERM"
    return (
        f"env {colour} TERM=xterm-256color PYTHONPATH={shlex.quote(str(REPO))} "
        f"XDG_CONFIG_HOME={shlex.quote(BENCH_CONFIG_HOME)}"
    )


def ui_command(truecolor: bool) -> str:
    """The UI on the project it is started in (the pane's working directory)."""
    return f"{environment(truecolor)} AUTOTRAIN_TUI_FAKE_GPUS=0 {ENTRY} ."


def minimal_command(project: Path, truecolor: bool) -> str:
    return f"{environment(truecolor)} {sys.executable} {MINIMAL_APP} {shlex.quote(str(project))}"


def settle(pane: Pane, needles: Sequence[str], timeout: float = 60.0) -> int:
    """Wait until every needle is on screen and the screen stays unchanged for SETTLE_S;
    the bytes the application had written when the screen last changed."""
    deadline = time.monotonic() + timeout
    last, changed_at, bytes_at_change = "", time.monotonic(), 0
    while time.monotonic() < deadline:
        screen = pane.screen()
        now = time.monotonic()
        if screen != last:
            last, changed_at, bytes_at_change = screen, now, pane.bytes_written()
        elif all(n in screen for n in needles) and now - changed_at >= SETTLE_S:
            return bytes_at_change
        time.sleep(0.1)
    raise TimeoutError(f"the screen never settled showing {needles}; last screen:\n{last}")


def wait_for(pane: Pane, *needles: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = pane.screen()
        if all(n in screen for n in needles):
            return screen
        time.sleep(0.1)
    raise TimeoutError(f"never saw {needles} on screen; last screen:\n{screen}")


def rate(pane: Pane, seconds: float) -> float:
    """Bytes/s the application writes over the next `seconds`."""
    before, start = pane.bytes_written(), time.monotonic()
    time.sleep(seconds)
    return (pane.bytes_written() - before) / (time.monotonic() - start)


# ---- the measurements ------------------------------------------------------------------------


@dataclass
class Figures:
    ui_first_frames: list[int]
    minimal_first_frames: list[int]
    ui_idle_editor: float = 0.0
    minimal_idle: float = 0.0
    ui_idle_dashboard: float = 0.0
    ui_tab: float = 0.0
    ui_training: float | None = None
    run_output: float | None = None
    epochs_per_s: float = 0.0


def first_frames_and_idle(
    server: TmuxServer, tmp: Path, repeats: int, seconds: float, truecolor: bool
) -> Figures:
    """First-frame bytes of both apps, alternating which starts first; the last start of
    each then stays open for the idle window."""
    project = make_project(tmp / "first-frame")
    figures = Figures([], [])
    for i in range(repeats):
        apps = [("ui", ui_command(truecolor)), ("minimal", minimal_command(project, truecolor))]
        if i % 2:
            apps.reverse()
        for kind, command in apps:
            recording = tmp / f"first-{kind}-{i}.bin"
            with server.pane(command, recording, cwd=project) as pane:
                if kind == "ui":
                    figures.ui_first_frames.append(settle(pane, UI_SETTLED))
                    if i == repeats - 1:
                        figures.ui_idle_editor = rate(pane, seconds)
                        figures.ui_tab = focus_changes(pane)
                else:
                    figures.minimal_first_frames.append(settle(pane, ["digits.yaml", "Quit"]))
                    if i == repeats - 1:
                        figures.minimal_idle = rate(pane, seconds)
    return figures


def focus_changes(pane: Pane, presses: int = 8) -> float:
    """Bytes per Tab press (focus moving editor -> filter -> configs -> runs -> ...)."""
    before = pane.bytes_written()
    for _ in range(presses):
        pane.keys("Tab")
        time.sleep(0.4)  # the repaint done; the editor's cursor blinks meanwhile (~32 B/0.4 s)
    return (pane.bytes_written() - before) / presses


def show_highlighted_run(pane: Pane) -> None:
    """The dashboard of the runs list's highlighted run: the configs list has focus at
    start, Tab moves it to the runs list, `d` shows the run. (Three Tabs and Enter, as
    this was, now land in the filter box: the dashboard never opened.)"""
    pane.keys("Tab")
    wait_for(pane, "space Mark")  # the runs list's footer
    pane.keys("d")


def idle_dashboard(server: TmuxServer, tmp: Path, seconds: float, truecolor: bool) -> float:
    """Bytes/s with the dashboard of a finished run open and nothing happening."""
    project = make_project(tmp / "dashboard")
    write_fake_run(project, "finished-run", "completed", created_at=time.time() - 4000)
    with server.pane(ui_command(truecolor), tmp / "dashboard.bin", cwd=project) as pane:
        settle(pane, [*UI_SETTLED, "finished-run"])
        show_highlighted_run(pane)
        wait_for(pane, "loss (train, val)", "finished-run", "completed")
        time.sleep(3.0)  # past the first samples; the screen may keep changing (not settle)
        return rate(pane, seconds)


def last_epoch(log: Path) -> int:
    """The last `epoch N/2000` line the run printed: how fast it trains decides how often
    the dashboard has something new to draw."""
    found = _EPOCH.findall(log.read_text(errors="replace"))
    return int(found[-1]) if found else 0


def training(
    server: TmuxServer, tmp: Path, seconds: float, truecolor: bool
) -> tuple[float, float, float]:
    """(UI bytes/s, the run's own log and metrics bytes/s, epochs/s) while a real run
    trains; the run is killed from the UI afterwards and its process group checked gone."""
    project = make_project(tmp / "training")
    config = project / "configs" / "digits.yaml"
    config.write_text(config.read_text().replace("max_epochs: 20", "max_epochs: 2000"))
    try:
        with server.pane(ui_command(truecolor), tmp / "training.bin", cwd=project) as pane:
            settle(pane, UI_SETTLED)
            pane.keys("C-r")
            wait_for(pane, "● running", "/2000  step ", timeout=120)
            run_dir = next(p for p in (project / "runs").iterdir() if (p / "run.json").is_file())
            outputs = [run_dir / "stdout.log", run_dir / "metrics.jsonl"]
            run_before, epoch_before = (
                sum(p.stat().st_size for p in outputs),
                last_epoch(outputs[0]),
            )
            start = time.monotonic()
            ui = rate(pane, seconds)
            elapsed = time.monotonic() - start
            run = (sum(p.stat().st_size for p in outputs) - run_before) / elapsed
            epochs = (last_epoch(outputs[0]) - epoch_before) / elapsed
            pane.keys("k")
            wait_for(pane, f"Kill {run_dir.name}?")
            pane.keys("y")
            wait_for(pane, f"killed {run_dir.name}")
            pgid = read_run(run_dir).pgid
            deadline = time.monotonic() + 30
            while pgid is not None and group_members(pgid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pgid is not None and group_members(pgid):
                raise RuntimeError(f"a process of the run's group {pgid} survived the kill")
            return ui, run, epochs
    finally:
        kill_runs(project)


def kill_runs(project: Path) -> None:
    """Whatever happened above, nothing of a run outlives the benchmark."""
    for run_json in (project / "runs").glob("*/run.json"):
        with contextlib.suppress(OSError, ValueError):
            record = read_run(run_json.parent)
            if process_matches(record.supervisor_pid, record.supervisor_create_time):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(record.supervisor_pid or 0, signal.SIGKILL)
            if record.pgid and group_members(record.pgid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(record.pgid, signal.SIGKILL)


# ---- the table ----------------------------------------------------------------------------------


def size_text(count: float) -> str:
    return f"{count / 1000:,.1f} KB" if count >= 1000 else f"{count:,.0f} B"


def arrival(count: float) -> str:
    """Seconds for `count` bytes to cross each link, as 'a / b'."""
    return " / ".join(f"{count * 8 / bps:.2f} s" for _, bps in LINKS)


def share(per_s: float) -> str:
    """Seconds of link time per second (as a share) a steady `per_s` holds on each link."""
    return " / ".join(f"{per_s * 8 / bps:.1%}" for _, bps in LINKS)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "-"


def rows(figures: Figures, repeats: int) -> list[list[str]]:
    ui_first = statistics.median(figures.ui_first_frames)
    minimal_first = statistics.median(figures.minimal_first_frames)
    link = " / ".join(name for name, _ in LINKS)
    out = [
        ["figure", "autotrain-tui", "baseline (same run)", "ratio", f"ui over {link}", "baseline"],
        [
            f"first frame, median of {repeats} (min-max)",
            f"{size_text(ui_first)} ({size_text(min(figures.ui_first_frames))}"
            f"-{size_text(max(figures.ui_first_frames))})",
            f"{size_text(minimal_first)} minimal app",
            ratio(ui_first, minimal_first),
            arrival(ui_first),
            arrival(minimal_first),
        ],
        [
            "idle, editor open",
            f"{size_text(figures.ui_idle_editor)}/s",
            f"{size_text(figures.minimal_idle)}/s minimal app idle",
            ratio(figures.ui_idle_editor, figures.minimal_idle),
            share(figures.ui_idle_editor),
            share(figures.minimal_idle),
        ],
        [
            "Tab between panes, per press (n=8)",
            size_text(figures.ui_tab),
            f"{size_text(ui_first)}, a full redraw (the first frame)",
            ratio(figures.ui_tab, ui_first),
            arrival(figures.ui_tab),
            arrival(ui_first),
        ],
        [
            "idle, dashboard of a finished run",
            f"{size_text(figures.ui_idle_dashboard)}/s",
            f"{size_text(figures.minimal_idle)}/s minimal app idle",
            ratio(figures.ui_idle_dashboard, figures.minimal_idle),
            share(figures.ui_idle_dashboard),
            share(figures.minimal_idle),
        ],
    ]
    if figures.ui_training is not None and figures.run_output is not None:
        out.append(
            [
                f"a real run training ({figures.epochs_per_s:.1f} epochs/s), dashboard",
                f"{size_text(figures.ui_training)}/s",
                f"{size_text(figures.run_output)}/s run's log + metrics",
                ratio(figures.ui_training, figures.run_output),
                share(figures.ui_training),
                share(figures.run_output),
            ]
        )
    return out


def print_table(table: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="120x40", help="terminal WIDTHxHEIGHT (120x40)")
    parser.add_argument("--repeats", type=int, default=3, help="first-frame starts per app")
    parser.add_argument("--seconds", type=float, default=10.0, help="each measuring window")
    parser.add_argument("--truecolor", action="store_true", help="also set COLORTERM=truecolor")
    parser.add_argument("--no-train", action="store_true", help="skip the real training run")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.lower().split("x"))
    colours = "COLORTERM=truecolor" if args.truecolor else "no COLORTERM"
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; terminal {width}x"
        f"{height} in tmux, TERM=xterm-256color, {colours}; windows of {args.seconds:g} s"
    )
    server = TmuxServer(width, height)
    try:
        with tempfile.TemporaryDirectory(prefix="autotrain-bench-bytes-") as name:
            tmp = Path(name)
            figures = first_frames_and_idle(server, tmp, args.repeats, args.seconds, args.truecolor)
            figures.ui_idle_dashboard = idle_dashboard(server, tmp, args.seconds, args.truecolor)
            if not args.no_train:
                figures.ui_training, figures.run_output, figures.epochs_per_s = training(
                    server, tmp, args.seconds, args.truecolor
                )
    finally:
        server.close()
    print_table(rows(figures, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
