"""Run-manager benchmarks, each printed beside a baseline measured in the same run.

    python bench/manager.py

- listing 1,000 runs (target < 1 s), beside a bare read of the same 1,000 run.json files,
  and listing them again through the UI poller's cache, beside the uncached listing;
- tail throughput on a log growing at 10,000 lines/s, beside the writer's own rate;
- the tailer's CPU while idle (target < 1% of a core), beside an idle `time.sleep`;
- the sampler's cost per tick, beside one `psutil.cpu_percent` call;
- on SLURM (a one-node cluster started for the purpose, see bench/slurm.py): submit -> first
  metric beside a local launch, and the state poll with 1,000 SLURM runs (one `squeue`).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from autotrain_tui.core.runs import RunCache, RunRecord, RunStatus, list_runs, write_run
from autotrain_tui.core.sampler import FakeGpuSource, SystemSampler
from autotrain_tui.core.tail import LineTail

sys.path.insert(0, str(Path(__file__).resolve().parent))
import slurm as slurm_figures


def _best_of(repeats: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def bench_listing(root: Path) -> None:
    runs = root / "runs"
    runs.mkdir()
    me = psutil.Process()
    for i in range(1000):
        run_dir = runs / f"bench-20260101-000000-{i:04x}"
        run_dir.mkdir()
        status = RunStatus.RUNNING if i % 10 == 0 else RunStatus.COMPLETED
        # Running ones point at this live process, so each costs a real liveness check.
        write_run(
            RunRecord(
                id=run_dir.name,
                run_dir=run_dir,
                status=status,
                pid=me.pid,
                pgid=me.pid,
                create_time=me.create_time(),
                created_at=float(i),
            )
        )
    baseline = _best_of(3, lambda: [json.loads(p.read_text()) for p in runs.glob("*/run.json")])
    listing = _best_of(3, lambda: list_runs(runs))
    print(
        f"list 1,000 runs          {listing * 1000:8.1f} ms   "
        f"(baseline: json.loads of the 1,000 files {baseline * 1000:.1f} ms; target < 1000 ms)"
    )
    # The UI's poll, every second: the same listing again, through a RunCache.
    cache = RunCache()
    list_runs(runs, cache=cache)
    again = _best_of(5, lambda: list_runs(runs, cache=cache))
    print(
        f"list them again (cached) {again * 1000:8.1f} ms   "
        f"(baseline: the uncached listing above, {listing / again:.1f}x slower)"
    )


def bench_tail(root: Path) -> None:
    log = root / "stdout.log"
    log.write_text("")
    rate, seconds = 10_000, 3.0
    written = [0]
    done = threading.Event()

    def writer() -> None:
        start = time.perf_counter()
        with open(log, "a", buffering=1) as handle:
            while (elapsed := time.perf_counter() - start) < seconds:
                due = int(elapsed * rate)
                while written[0] < due:
                    handle.write(f"step {written[0]} loss 0.123456 lr 0.001 some padding text\n")
                    written[0] += 1
                time.sleep(0.001)
        done.set()

    thread = threading.Thread(target=writer)
    tail = LineTail(log)
    read = 0
    start = time.perf_counter()
    thread.start()
    for batch in tail.follow(until=done.is_set, min_idle_sleep_s=0.01, max_idle_sleep_s=0.05):
        read += len(batch)
    elapsed = time.perf_counter() - start
    thread.join()
    print(
        f"tail a 10k lines/s log   {read / elapsed:8.0f} lines/s "
        f"(baseline: writer produced {written[0] / elapsed:.0f} lines/s; read {read} of "
        f"{written[0]}, lag 0 at end: {read == written[0]})"
    )

    stop = threading.Event()
    idle = LineTail(log)
    idle.read_lines()
    me = psutil.Process()

    def cpu_of(work: Callable[[], None], seconds: float = 3.0) -> float:
        before = me.cpu_times()
        work()
        after = me.cpu_times()
        return ((after.user - before.user) + (after.system - before.system)) / seconds * 100

    def follow_idle() -> None:
        timer = threading.Timer(3.0, stop.set)
        timer.start()
        for _ in idle.follow(stop=stop):
            pass

    tail_cpu = cpu_of(follow_idle)
    sleep_cpu = cpu_of(lambda: time.sleep(3.0))
    print(
        f"idle tailer CPU          {tail_cpu:8.2f} %  of a core "
        f"(baseline: time.sleep {sleep_cpu:.2f} %; target < 1 %)"
    )


def bench_sampler() -> None:
    sampler = SystemSampler(FakeGpuSource())
    me = psutil.Process()
    record = RunRecord(
        id="me",
        run_dir=Path("."),
        status=RunStatus.RUNNING,
        pid=me.pid,
        pgid=me.pid,
        create_time=me.create_time(),
    )
    sampler.sample([record])
    ticks = 200
    per_tick = _best_of(3, lambda: [sampler.sample([record]) for _ in range(ticks)]) / ticks
    baseline = _best_of(3, lambda: [psutil.cpu_percent(None) for _ in range(ticks)]) / ticks
    print(
        f"sampler tick (1 run)     {per_tick * 1e3:8.2f} ms   "
        f"(baseline: psutil.cpu_percent {baseline * 1e3:.3f} ms; NVML: "
        "off, fake source)"
    )


def main() -> None:
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        bench_listing(Path(tmp))
        bench_tail(Path(tmp))
    bench_sampler()
    with tempfile.TemporaryDirectory() as tmp:
        slurm_figures.main(Path(tmp))


if __name__ == "__main__":
    main()
