"""Terminal-UI benchmarks through a real terminal (tmux), each beside a baseline from the same run.

    python bench/ui.py            # the full set (a few minutes)
    python bench/ui.py --quick    # fewer repeats, shorter floods

Every figure is taken the way a user meets it: the UI runs in a tmux pane on a private tmux
server and the screen is read with `capture-pane`, so terminal output, Textual's rendering
and the app's own work all count. Absolute times are noisy on a small shared machine; the
ratios to the baseline measured in the same run are what the targets are about.

- first frame (the configs on screen) vs a minimal Textual app (header, list, footer);
- keypress-to-screen latency with a run printing 10,000 log lines/s vs the same UI idle,
  and how far behind the log view is;
- idle CPU with 8 quiet runs open vs the minimal app's;
- memory after a million log lines streamed vs before;
- metric-to-screen latency vs TensorBoard's 5 s reload interval (a constant);
- first frame with 1,000 past runs listed vs with none, and idle CPU with them vs with none.

`bench/_minimal_app.py` is the baseline app; `--writer LOG CONTROL` is the fake run's
process, which appends to its log at the rate the benchmark asks for.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
UI_REPO = REPO  # where the measured autotrain_tui is imported from (--repo: an older copy)
ENTRY = Path(sys.executable).parent / "autotrain-tui"
WIDTH, HEIGHT = 120, 40
FLOOD_RATE = 10_000
TENSORBOARD_RELOAD_S = 5.0  # TensorBoard's default --reload_interval: a reference, not measured
# Both apps start as an installed program does after its first start: bytecode cached.
# The scratch projects are trusted (so the editor's full check runs, as for a user) in a
# config directory of the benchmark's own, never the user's.
BENCH_CONFIG_HOME = tempfile.mkdtemp(prefix="autotrain-bench-config-")
ENV = (
    "-u PYTHONDONTWRITEBYTECODE TERM=xterm-256color COLORTERM=truecolor "
    f"XDG_CONFIG_HOME={shlex.quote(BENCH_CONFIG_HOME)}"
)
POLL_S = 0.005  # between two capture-pane calls while waiting for a change
_LOG_TIME = re.compile(r"t=(\d+\.\d+)")


# ---- helper processes ----------------------------------------------------------------------


def writer(log: Path, control: Path) -> None:
    """Append numbered, timestamped lines to `log` at the rate written in `control` (lines/s;
    no file or 0 means silent). Its pid is the fake run's pid, so the run reads as live."""
    written = 0
    rate = 0.0
    due_from = time.perf_counter()
    sent_at_rate = 0
    with open(log, "a", buffering=1 << 20) as handle:
        while True:
            try:
                new_rate = float(control.read_text() or 0)
            except (FileNotFoundError, ValueError):
                new_rate = 0.0
            if new_rate != rate:
                rate, due_from, sent_at_rate = new_rate, time.perf_counter(), 0
            if rate <= 0:
                time.sleep(0.05)
                continue
            due = int((time.perf_counter() - due_from) * rate)
            now = time.time()
            batch: list[str] = []
            while sent_at_rate < due and len(batch) < 50_000:
                batch.append(
                    f"{written:09d} t={now:.3f} step {written} loss 0.123456 lr 0.001 padding\n"
                )
                written += 1
                sent_at_rate += 1
            if batch:
                handle.write("".join(batch))
                handle.flush()
            time.sleep(0.005)


# ---- tmux ----------------------------------------------------------------------------------


def socket_path(name: str) -> Path:
    """Where `tmux -L NAME` keeps its socket, which tmux 3.3 leaves behind on kill-server."""
    return Path(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", name)


class Tmux:
    """A private tmux server (its own socket), so nothing else on the machine is touched."""

    def __init__(self) -> None:
        self.socket = f"autotrain-bench-{os.getpid()}"
        # A keeper session keeps the server warm: no measurement pays for its start.
        self._run("new-session", "-d", "-s", "keeper", "-x", "80", "-y", "24", "sleep 100000")
        self.count = 0

    def _run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )
        return result.stdout

    def start(self, command: str) -> str:
        self.count += 1
        name = f"s{self.count}"
        self._run("new-session", "-d", "-s", name, "-x", str(WIDTH), "-y", str(HEIGHT), command)
        return name

    def capture(self, session: str) -> str:
        return self._run("capture-pane", "-p", "-t", session)

    def keys(self, session: str, *keys: str) -> None:
        self._run("send-keys", "-t", session, *keys)

    def pane_pid(self, session: str) -> int:
        return int(self._run("display-message", "-p", "-t", session, "#{pane_pid}").strip())

    def kill(self, session: str) -> None:
        import psutil

        try:
            tree = psutil.Process(self.pane_pid(session))
            procs = [tree, *tree.children(recursive=True)]
        except (ValueError, psutil.Error):
            procs = []
        self._run("kill-session", "-t", session)
        # The UI's own children (a background `recipe check`) go with it, by pid.
        _, alive = psutil.wait_procs(procs, timeout=3)
        for proc in alive:
            with suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=3)

    def close(self) -> None:
        self._run("kill-server")
        socket_path(self.socket).unlink(missing_ok=True)  # tmux 3.3 leaves it behind


def wait_screen(
    tmux: Tmux, session: str, done: Callable[[str], bool], timeout: float = 30.0
) -> tuple[float, str]:
    """Poll the screen until `done(screen)`; (seconds waited, that screen)."""
    start = time.perf_counter()
    screen = ""
    while time.perf_counter() - start < timeout:
        screen = tmux.capture(session)
        if done(screen):
            return time.perf_counter() - start, screen
        time.sleep(POLL_S)
    raise TimeoutError(f"screen never matched in {timeout:g}s; last screen:\n{screen}")


def shows(text: str) -> Callable[[str], bool]:
    return lambda screen: text in screen


def toggled(text: str, before: bool) -> Callable[[str], bool]:
    return lambda screen: (text in screen) != before


def ui_command(project: Path) -> str:
    where, code = shlex.quote(str(project)), shlex.quote(str(UI_REPO))
    return f"cd {where} && exec env {ENV} PYTHONPATH={code} {ENTRY} {where}"


def minimal_command(project: Path) -> str:
    script = shlex.quote(str(Path(__file__).resolve().parent / "_minimal_app.py"))
    return f"exec env {ENV} {sys.executable} {script} {shlex.quote(str(project))}"


@contextmanager
def session(tmux: Tmux, command: str) -> Iterator[str]:
    name = tmux.start(command)
    try:
        yield name
    finally:
        tmux.kill(name)


# ---- projects and runs ---------------------------------------------------------------------


def make_project(root: Path) -> Path:
    """A copy of the shipped project (configs/, custom.py, a link to examples/)."""
    root.mkdir(parents=True)
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copy(REPO / "custom.py", root / "custom.py")
    (root / "examples").symlink_to(REPO / "examples")
    (root / "runs").mkdir()
    trust_in_bench_config(root)
    return root


def trust_in_bench_config(root: Path) -> None:
    """Trust `root` in the benchmark's own config directory (see BENCH_CONFIG_HOME)."""
    from autotrain_tui.core import trust

    saved = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = BENCH_CONFIG_HOME
    try:
        trust.trust_project(root)
    finally:
        if saved is None:
            del os.environ["XDG_CONFIG_HOME"]
        else:
            os.environ["XDG_CONFIG_HOME"] = saved


def write_fake_run(
    root: Path,
    run_id: str,
    status: str,
    *,
    created_at: float,
    pid: int | None = None,
    steps: int = 200,
) -> Path:
    """A run directory as the recipe and supervisor leave it; a live `pid` makes it running."""
    import psutil

    run_dir = root / "runs" / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text((REPO / "configs" / "digits.yaml").read_text())
    record: dict[str, Any] = {
        "version": 1,
        "id": run_id,
        "config": "configs/digits.yaml",
        "overrides": [],
        "status": status,
        "host": "bench",
        "created_at": created_at,
        "started_at": created_at + 1,
        "ended_at": None if status == "running" else created_at + 300,
        "exit_code": {"completed": 0, "failed": 1, "stopped": 3}.get(status),
    }
    if pid is not None:
        record.update(pid=pid, pgid=None, create_time=psutil.Process(pid).create_time())
    (run_dir / "run.json").write_text(json.dumps(record))
    events: list[dict[str, Any]] = [
        {"event": "start", "time": created_at, "step": 0, "monitor": "val/acc", "mode": "max"}
    ]
    for step in range(5, steps + 1, 5):
        loss = 2.3 * math.exp(-step / 40) + 0.05
        metrics = {"train/loss": round(loss, 5)}
        if step % 20 == 0:
            metrics.update({"val/loss": round(loss * 1.1, 5), "val/acc": round(0.5 - loss / 10, 5)})
        events.append(
            {
                "time": created_at + step,
                "step": step,
                "epoch": step // 20,
                "total_steps": steps * 5,
                "max_epochs": 50,
                "metrics": metrics,
            }
        )
    if status != "running":
        events.append({"event": "end", "status": status, "time": created_at + 300})
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (run_dir / "stdout.log").write_text("".join(f"epoch {i} done\n" for i in range(20)))
    return run_dir


def set_pid(run_dir: Path, pid: int) -> None:
    """Make `pid` the run's process (pid and start time: how the core decides liveness)."""
    import psutil

    record = json.loads((run_dir / "run.json").read_text())
    record.update(pid=pid, pgid=None, create_time=psutil.Process(pid).create_time())
    (run_dir / "run.json").write_text(json.dumps(record))


def start_writer(run_dir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    control = run_dir.parent.parent / "flood-rate"
    control.write_text("0")
    script = str(Path(__file__).resolve())
    proc = subprocess.Popen(
        [sys.executable, script, "--writer", str(run_dir / "stdout.log"), str(control)]
    )
    return proc, control


def start_sleeper() -> subprocess.Popen[bytes]:
    """A silent process standing in for a run that prints nothing."""
    return subprocess.Popen(["sleep", "100000"])


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait()


# ---- statistics and the table ---------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Row:
    name: str
    ui: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None

    @property
    def verdict(self) -> str:
        return "-" if self.ok is None else ("ok" if self.ok else "MISS")


def print_table(rows: Sequence[Row]) -> None:
    header = Row("figure", "autotrain-tui", "baseline", "ratio", "target", None)
    cols = [[r.name, r.ui, r.baseline, r.ratio, r.target] for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cols) for i in range(5)]
    for index, (cells, row) in enumerate(zip(cols, [header, *rows], strict=True)):
        verdict = "verdict" if index == 0 else row.verdict
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + verdict)
        if index == 0:
            print("-" * (sum(widths) + 2 * 5 + 7))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# ---- the benchmarks ------------------------------------------------------------------------


def first_frame(tmux: Tmux, tmp: Path, repeats: int) -> list[Row]:
    project = make_project(tmp / "first-frame")
    for command in (ui_command(project), minimal_command(project)):
        with session(tmux, command) as name:  # a warm-up: bytecode written, files cached
            wait_screen(tmux, name, shows("digits.yaml"), timeout=30)
    ui: list[float] = []
    minimal: list[float] = []
    for i in range(repeats):
        order = [("ui", ui_command(project)), ("minimal", minimal_command(project))]
        if i % 2:
            order.reverse()
        for kind, command in order:
            start = time.perf_counter()
            name = tmux.start(command)
            try:
                wait_screen(tmux, name, shows("digits.yaml"), timeout=20)
                elapsed = time.perf_counter() - start
            finally:
                tmux.kill(name)
            (ui if kind == "ui" else minimal).append(elapsed)
            time.sleep(0.3)
    median_ui, median_min = statistics.median(ui), statistics.median(minimal)
    ratio = median_ui / median_min
    return [
        Row(
            f"first frame, median of {repeats} (p95)",
            f"{ms(median_ui)} ({ms(pct(ui, 95))})",
            f"{ms(median_min)} ({ms(pct(minimal, 95))}) minimal app",
            f"{ratio:.2f}x",
            "<= 1.5x",
            ratio <= 1.5,
        )
    ]


def open_dashboard(tmux: Tmux, name: str, run_id: str) -> str:
    """From the editor (focused at start): tab to the runs list, enter on the newest run."""
    wait_screen(tmux, name, lambda s: run_id in s and "digits.yaml ·" in s, timeout=30)
    tmux.keys(name, "Tab", "Tab", "Tab")
    time.sleep(0.3)
    tmux.keys(name, "Enter")
    _, screen = wait_screen(tmux, name, lambda s: "loss (train, val)" in s and run_id in s)
    return screen


def press_latencies(
    tmux: Tmux, name: str, presses: int, lags: list[float] | None = None
) -> list[float]:
    """Seconds from `send-keys l` (log scale) until the chart title on screen changes."""
    out: list[float] = []
    for _ in range(presses):
        before = "· log" in tmux.capture(name)
        tmux.keys(name, "l")
        elapsed, screen = wait_screen(tmux, name, toggled("· log", before), 5)
        out.append(elapsed)
        if lags is not None:
            shown = [float(t) for t in _LOG_TIME.findall(screen)]
            if shown:
                lags.append(time.time() - max(shown))
        time.sleep(random.uniform(0.15, 0.35))
    return out


def ui_pid(tmux: Tmux, name: str) -> Any:
    import psutil

    return psutil.Process(tmux.pane_pid(name))


def flood_and_metrics(tmux: Tmux, tmp: Path, presses: int, million: int) -> list[Row]:
    """Keypress latency idle vs flooded, the log's lag, memory over `million` lines, and the
    metric-to-screen latency — all on one live run shown in the dashboard."""
    project = make_project(tmp / "flood")
    write_fake_run(project, "quiet-run", "completed", created_at=time.time() - 4000)
    run_dir = write_fake_run(project, "flood-run", "running", created_at=time.time() - 60)
    proc, control = start_writer(run_dir)
    set_pid(run_dir, proc.pid)
    rows: list[Row] = []
    try:
        with session(tmux, ui_command(project)) as name:
            open_dashboard(tmux, name, "flood-run")
            time.sleep(3.0)  # the background config check finishes; the first sample lands
            idle = press_latencies(tmux, name, presses)

            control.write_text(str(FLOOD_RATE))
            time.sleep(2.0)
            lags: list[float] = []
            ui = ui_pid(tmux, name)
            cpu_before = ui.cpu_times()
            wall = time.perf_counter()
            flooded = press_latencies(tmux, name, presses, lags)
            cpu = ui.cpu_times()
            flood_cpu = (
                (cpu.user + cpu.system - cpu_before.user - cpu_before.system)
                / (time.perf_counter() - wall)
                * 100
            )
            idle_p50, idle_p95 = pct(idle, 50), pct(idle, 95)
            flood_p50, flood_p95 = pct(flooded, 50), pct(flooded, 95)
            ratio = flood_p95 / idle_p95
            rows.append(
                Row(
                    f"keypress→screen, {FLOOD_RATE:,} lines/s, p50 / p95 (n={presses})",
                    f"{ms(flood_p50)} / {ms(flood_p95)}",
                    f"{ms(idle_p50)} / {ms(idle_p95)} same UI idle",
                    f"{ratio:.2f}x p95",
                    "p95 <= 1.5x idle, < 100 ms",
                    ratio <= 1.5 and flood_p95 < 0.1,
                )
            )
            lag_p50 = pct(lags, 50) if lags else math.nan
            lag_max = max(lags) if lags else math.nan
            rows.append(
                Row(
                    "log view lag under the flood, p50 / max",
                    f"{ms(lag_p50)} / {ms(lag_max)} (UI CPU {flood_cpu:.0f}% of a core)",
                    "0 = the newest line written",
                    "-",
                    "keeps up (< 1 s behind)",
                    bool(lags) and lag_max < 1.0,
                )
            )

            # Memory: a million lines as fast as the UI will take them (100k lines/s), in two
            # halves. Bounded means the second half adds nothing: the panel keeps its last
            # lines and the rest stays on disk. (The first half fills the panel and Python's
            # allocator arenas, which is why the figure before the stream is not the baseline
            # of boundedness.)
            control.write_text("0")
            time.sleep(1.0)
            rss_before = ui.memory_info().rss
            log = run_dir / "stdout.log"
            half = million // 2
            rss_mid = stream_lines(ui, control, log, half)
            lines_mid = _count_lines(log)
            rss_after = stream_lines(ui, control, log, half)
            lines = _count_lines(log)
            growth = rss_after / rss_mid
            rows.append(
                Row(
                    f"RSS after {lines_mid / 1e6:.2f}M / {lines / 1e6:.2f}M log lines streamed",
                    f"{rss_mid / 2**20:.0f} / {rss_after / 2**20:.0f} MiB",
                    f"{rss_before / 2**20:.0f} MiB before the stream",
                    f"{growth:.2f}x over the 2nd half",
                    "bounded (2nd half < 1.05x)",
                    growth < 1.05,
                )
            )

            # Metric → screen: a distinctive best val/acc appended; the header shows it.
            metric_lat: list[float] = []
            for i in range(presses):
                value = 0.6 + 0.0007 * (i + 1)
                shown = f"best val/acc (max) {value:.4f}"
                event = {
                    "time": time.time(),
                    "step": 1000 + i,
                    "epoch": 50,
                    "total_steps": 5000,
                    "max_epochs": 50,
                    "metrics": {"val/acc": value},
                }
                with open(run_dir / "metrics.jsonl", "a") as handle:
                    handle.write(json.dumps(event) + "\n")
                elapsed, _ = wait_screen(tmux, name, shows(shown), 5)
                metric_lat.append(elapsed)
                time.sleep(random.uniform(0.1, 0.5))
            rows.append(
                Row(
                    f"metric→screen, p50 / p95 (n={presses})",
                    f"{ms(pct(metric_lat, 50))} / {ms(pct(metric_lat, 95))}",
                    f"{TENSORBOARD_RELOAD_S:g} s TensorBoard reload (constant)",
                    f"{pct(metric_lat, 95) / TENSORBOARD_RELOAD_S:.2f}x p95",
                    "< 1 s",
                    pct(metric_lat, 95) < 1.0,
                )
            )
    finally:
        stop_process(proc)
    return rows


def stream_lines(ui: Any, control: Path, log: Path, count: int) -> int:
    """Have the fake run write `count` more lines at 100,000 lines/s; the UI's RSS after."""
    size_before = log.stat().st_size
    control.write_text("100000")
    target_bytes = size_before + count * 75
    deadline = time.monotonic() + count / 100_000 * 3 + 30
    while log.stat().st_size < target_bytes and time.monotonic() < deadline:
        time.sleep(0.2)
    control.write_text("0")
    time.sleep(2.0)  # the UI drains what was written
    return int(ui.memory_info().rss)


def _count_lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def idle_cpu(tmux: Tmux, tmp: Path, seconds: float) -> list[Row]:
    project = make_project(tmp / "idle")
    sleepers = [start_sleeper(), start_sleeper()]
    now = time.time()
    statuses = ["completed", "completed", "failed", "stopped", "completed", "completed"]
    for i, status in enumerate(statuses):
        write_fake_run(project, f"past-{i}", status, created_at=now - 5000 + i)
    for i, proc in enumerate(sleepers):
        write_fake_run(project, f"quiet-{i}", "running", created_at=now - 100 + i, pid=proc.pid)
    try:
        with session(tmux, ui_command(project)) as name:
            open_dashboard(tmux, name, "quiet-1")
            time.sleep(4.0)  # past the start-up work (config check, first samples)
            ui = _cpu_percent(ui_pid(tmux, name), seconds)
        with session(tmux, minimal_command(project)) as name:
            wait_screen(tmux, name, shows("digits.yaml"))
            time.sleep(2.0)
            base = _cpu_percent(ui_pid(tmux, name), seconds)
    finally:
        for proc in sleepers:
            stop_process(proc)
    return [
        Row(
            f"idle CPU, 8 quiet runs, dashboard open ({seconds:g} s)",
            f"{ui:.2f}% of a core",
            f"{base:.2f}% minimal app",
            f"{ui / base:.1f}x" if base > 0 else "-",
            "< 2% of a core",
            ui < 2.0,
        )
    ]


def _cpu_percent(proc: Any, seconds: float) -> float:
    before = proc.cpu_times()
    time.sleep(seconds)
    after = proc.cpu_times()
    return (after.user + after.system - before.user - before.system) / seconds * 100


def many_runs(tmux: Tmux, tmp: Path, repeats: int, count: int = 1000) -> list[Row]:
    empty = make_project(tmp / "runs-0")
    full = make_project(tmp / "runs-1000")
    now = time.time()
    statuses = ["completed", "completed", "completed", "failed", "stopped"]
    for i in range(count):
        write_fake_run(
            full, f"past-{i:04d}", statuses[i % len(statuses)], created_at=now - 1e5 + i, steps=100
        )
    with_runs: list[float] = []
    without: list[float] = []
    for i in range(repeats):
        order = [(full, f"Runs ({count})", with_runs), (empty, "Runs (0)", without)]
        if i % 2:
            order.reverse()
        for project, needle, out in order:
            start = time.perf_counter()
            name = tmux.start(ui_command(project))
            try:
                wait_screen(tmux, name, shows(needle), timeout=30)
                out.append(time.perf_counter() - start)
            finally:
                tmux.kill(name)
            time.sleep(0.3)
    med_full, med_empty = statistics.median(with_runs), statistics.median(without)
    # What the 1,000 runs cost afterwards: the poll lists them every second.
    idle: dict[Path, float] = {}
    for project, needle in ((full, f"Runs ({count})"), (empty, "Runs (0)")):
        with session(tmux, ui_command(project)) as name:
            wait_screen(tmux, name, shows(needle), timeout=30)
            time.sleep(6.0)  # past the start-up work: summaries filled in, config checked
            idle[project] = _cpu_percent(ui_pid(tmux, name), 10.0)
    return [
        Row(
            f"first frame with {count:,} runs listed, median of {repeats}",
            f"{ms(med_full)} ({ms(pct(with_runs, 95))} p95)",
            f"{ms(med_empty)} with 0 runs",
            f"+{ms(med_full - med_empty)}",
            "<= 1 s",
            med_full <= 1.0,
        ),
        Row(
            f"idle CPU with {count:,} runs listed (10 s)",
            f"{idle[full]:.2f}% of a core",
            f"{idle[empty]:.2f}% with 0 runs",
            f"+{idle[full] - idle[empty]:.2f}%",
            "-",
            None,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter floods")
    parser.add_argument(
        "--repo",
        type=Path,
        default=REPO,
        help="measure the autotrain_tui of this checkout (e.g. an older one, for before/after)",
    )
    parser.add_argument("--writer", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--only", choices=["first", "flood", "idle", "runs"], action="append", default=None
    )
    args = parser.parse_args(argv)
    if args.writer is not None:
        writer(*args.writer)
        return 0
    if shutil.which("tmux") is None:
        print("bench/ui.py needs tmux", file=sys.stderr)
        return 1
    global UI_REPO
    UI_REPO = args.repo.resolve()
    only = set(args.only or ["first", "flood", "idle", "runs"])
    repeats, presses, million, idle_s = (
        (5, 15, 200_000, 5.0) if args.quick else (11, 100, 1_000_000, 10.0)
    )
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, python "
        f"{sys.version.split()[0]}, terminal {WIDTH}x{HEIGHT} in tmux"
        + (" (--quick)" if args.quick else "")
    )
    tmux = Tmux()
    rows: list[Row] = []
    try:
        with tempfile.TemporaryDirectory(prefix="autotrain-bench-ui-") as name:
            tmp = Path(name)
            if "first" in only:
                rows += first_frame(tmux, tmp, repeats)
            if "flood" in only:
                rows += flood_and_metrics(tmux, tmp, presses, million)
            if "idle" in only:
                rows += idle_cpu(tmux, tmp, idle_s)
            if "runs" in only:
                rows += many_runs(tmux, tmp, repeats)
    finally:
        tmux.close()
    print_table(rows)
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
