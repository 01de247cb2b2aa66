"""SLURM figures for bench/manager.py, on a one-node cluster started here (tests/slurm_cluster).

- submit -> first metric on screen: `Project.launch(..., slurm=True)` until the UI's metrics
  tail reads the first metric, beside the same for a local launch, median of 3 each,
  alternating (the cluster is this machine: the difference is sbatch, the scheduler, srun);
- the state poll with 1,000 SLURM runs in the project (a held job array of 1,000 tasks, all
  live): one listing makes one `squeue` call, beside 1,000 local runs listed, and beside what
  one `squeue -j` per run would cost (20 calls timed, scaled to 1,000).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil

from autotrain_tui.core import Project, identity, trust
from autotrain_tui.core.runs import RunCache, RunRecord, RunStatus, list_runs, write_run
from autotrain_tui.core.slurm.record import SlurmInfo
from autotrain_tui.core.slurm.state import POLLER
from autotrain_tui.core.tail import MetricsTail

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.core.support import TINY_CONFIG, kill_project_processes, make_root
from tests.slurm_cluster import MARKER, missing_programs, running_cluster


def _first_metric_s(project: Project, slurm: bool) -> float:
    start = time.perf_counter()
    record = project.launch("configs/tiny.yaml", ["trainer.max_epochs=1"], slurm=slurm)
    tail = MetricsTail(record.metrics_jsonl)
    while True:
        if any("metrics" in event for event in tail.read_events()):
            elapsed = time.perf_counter() - start
            break
        if time.perf_counter() - start > 300:
            raise RuntimeError(f"no metric from {record.id} in 300 s")
        time.sleep(0.05)  # the UI polls its tails more often than its run list
    while project.get_run(record.id).is_live:  # one run at a time: no overlap
        time.sleep(0.2)
    return elapsed


def bench_first_metric(root: Path) -> None:
    project_root = make_root(root / "first", "tiny.yaml", TINY_CONFIG)
    trust.trust_project(project_root)
    project = Project(project_root)
    try:
        local, slurm = [], []
        for _ in range(3):
            local.append(_first_metric_s(project, slurm=False))
            slurm.append(_first_metric_s(project, slurm=True))
    finally:
        kill_project_processes(project_root)
    lm, sm = statistics.median(local), statistics.median(slurm)
    print(
        f"submit -> first metric   {sm:8.2f} s    (SLURM, median of 3; baseline: local launch "
        f"{lm:.2f} s; {sm / lm:.2f}x)"
    )


def bench_poll(root: Path) -> None:
    runs = root / "poll" / "runs"
    runs.mkdir(parents=True)
    submitted = subprocess.run(
        ["sbatch", "--parsable", "--hold", "--array=0-999", "--output=/dev/null", "--wrap", "true"],
        capture_output=True,
        text=True,
        check=True,
    )
    array = submitted.stdout.strip().split(";")[0]
    try:
        now = time.time()
        for i in range(1000):
            run_dir = runs / f"bench-{i:04d}"
            run_dir.mkdir()
            job = f"{array}_{i}"
            info = SlurmInfo(job_id=job, jobs=(job,), state="PENDING", reason="JobHeldUser")
            write_run(
                RunRecord(
                    id=run_dir.name,
                    run_dir=run_dir,
                    status=RunStatus.RUNNING,
                    backend="slurm",
                    slurm=info,
                    created_at=now,
                    started_at=now,
                )
            )
        cache = RunCache()  # as the UI lists: run.json read again only when it changed
        POLLER.forget()
        before = POLLER.calls
        start = time.perf_counter()
        list_runs(runs, cache=cache)  # the first poll records each job's state in run.json
        first = time.perf_counter() - start
        first_calls = POLLER.calls - before
        POLLER.forget()  # as if the poll interval had passed
        before = POLLER.calls
        start = time.perf_counter()
        records = list_runs(runs, cache=cache)
        listing = time.perf_counter() - start
        calls = POLLER.calls - before
        live = sum(r.is_live for r in records)
        baseline = _local_listing(root)
        start = time.perf_counter()
        for i in range(20):
            subprocess.run(["squeue", "-h", "-j", f"{array}_{i}"], capture_output=True, check=True)
        per_run = (time.perf_counter() - start) / 20
    finally:
        subprocess.run(["scancel", array], check=False)
    print(
        f"poll 1,000 SLURM runs    {listing * 1000:8.1f} ms   ({calls} squeue call, {live} live; "
        f"baseline: 1,000 live local runs {baseline * 1000:.1f} ms; one squeue per run would "
        f"take {per_run * 1000:.0f} s)"
    )
    print(
        f"  the first poll         {first * 1000:8.1f} ms   ({first_calls} squeue calls: it "
        "writes each job's state into its run.json once)"
    )


def _local_listing(root: Path) -> float:
    """1,000 live local runs (this process stands for each recipe), listed as the UI does."""
    runs = root / "local" / "runs"
    runs.mkdir(parents=True)
    me = psutil.Process()
    for i in range(1000):
        run_dir = runs / f"local-{i:04d}"
        run_dir.mkdir()
        write_run(
            RunRecord(
                id=run_dir.name,
                run_dir=run_dir,
                status=RunStatus.RUNNING,
                pid=me.pid,
                pgid=me.pid,
                start_ticks=identity.start_ticks(me.pid),
                boot_id=identity.boot_id(),
                created_at=float(i),
            )
        )
    cache = RunCache()
    list_runs(runs, cache=cache)
    start = time.perf_counter()
    list_runs(runs, cache=cache)
    return time.perf_counter() - start


def main(root: Path) -> None:
    missing = missing_programs()
    if missing:
        print(
            f"SLURM figures skipped: {', '.join(missing)} not installed "
            "(bash scripts/ensure_slurm.sh installs them)"
        )
        return
    with running_cluster() as cluster:
        os.environ["SLURM_CONF"] = cluster.env["SLURM_CONF"]
        os.environ[MARKER] = cluster.env[MARKER]
        bench_first_metric(root)
        bench_poll(root)
    shutil.rmtree(root / "first", ignore_errors=True)
