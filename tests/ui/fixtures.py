"""Hand-written run directories with fixed times, for deterministic UI tests and snapshots."""

from __future__ import annotations

import json
import math
from pathlib import Path

import psutil

from autotrain_tui.core.sampler import (
    FakeGpuSource,
    GpuReading,
    GpuSnapshot,
    HostSnapshot,
    RunUsage,
    SystemSnapshot,
)

T0 = 1_764_064_000.0  # 2025-11-25 09:46:40 UTC: every fixed run starts around here
NOW = T0 + 600.0


def write_run(
    root: Path,
    run_id: str,
    status: str,
    *,
    lr: float = 3e-3,
    steps: int = 200,
    done: int | None = None,
    loss_scale: float = 1.0,
    started_at: float = T0,
    ended: bool = True,
    alive_pid: bool = False,
    log_lines: int = 30,
    sweep: str | None = None,
    pid: int | None = None,
) -> Path:
    """A run directory as the recipe and supervisor would leave it, with fixed numbers."""
    run_dir = root / "runs" / run_id
    run_dir.mkdir(parents=True)
    done = steps if done is None else done
    config = (
        "# fixed config for UI tests\nproject:\n  name: digits\n  seed: 0\n"
        f"data:\n  _target_: digits\nmodel:\n  _target_: mlp\n  hidden: [16]\n"
        f"optimizer:\n  _target_: adamw\n  lr: {lr}\ntrainer:\n  max_epochs: 10\n"
    )
    (run_dir / "config.yaml").write_text(config)
    record = {
        "version": 1,
        "id": run_id,
        "config": "configs/digits.yaml",
        "overrides": [f"optimizer.lr={lr}"],
        "status": status,
        "host": "test-host",
        "created_at": started_at - 1,
        "started_at": started_at,
        "ended_at": started_at + done * 1.5 if ended else None,
        "exit_code": {"completed": 0, "failed": 1, "stopped": 3}.get(status),
    }
    if sweep is not None:
        record["sweep"] = sweep
    if alive_pid:
        me = psutil.Process()
        record.update(pid=me.pid, pgid=None, create_time=me.create_time())
    if pid is not None:  # a process of the test's own, in its own group (pgid = pid)
        record.update(pid=pid, pgid=pid, create_time=psutil.Process(pid).create_time())
    (run_dir / "run.json").write_text(json.dumps(record))
    events = [
        {"event": "start", "time": started_at, "step": 0, "monitor": "val/acc", "mode": "max"}
    ]
    per_epoch = steps // 10
    for step in range(5, done + 1, 5):
        epoch = min(step // per_epoch, 9)
        loss = loss_scale * (2.3 * math.exp(-step / 40) + 0.05 + 0.02 * math.sin(step))
        events.append(
            {
                "time": started_at + step * 1.5,
                "step": step,
                "epoch": epoch,
                "total_steps": steps,
                "max_epochs": 10,
                "metrics": {"train/loss": round(loss, 5), "lr": lr},
            }
        )
        if step % per_epoch == 0:
            events.append(
                {
                    "time": started_at + step * 1.5,
                    "step": step,
                    "epoch": epoch,
                    "total_steps": steps,
                    "max_epochs": 10,
                    "metrics": {
                        "val/loss": round(loss * 1.1, 5),
                        "val/acc": round(1 - loss / 3, 5),
                    },
                }
            )
    if ended:
        events.append({"event": "end", "status": status, "time": started_at + done * 1.5})
    with (run_dir / "metrics.jsonl").open("w") as handle:
        for event in events:
            handle.write(json.dumps(event) + "\n")
    with (run_dir / "stdout.log").open("w") as handle:
        for i in range(log_lines):
            handle.write(f"epoch {i // 3} step {i * 5}: train/loss {2.3 / (i + 1):.4f}\n")
    return run_dir


def fake_gpu_reading() -> GpuReading:
    """Two fake GPUs (labelled as such in their names) for the GPU panel."""
    return GpuReading(
        (
            GpuSnapshot(
                index=0,
                name="FAKE GPU (tests)",
                utilization_percent=87.0,
                memory_used_bytes=40 * 2**30,
                memory_total_bytes=80 * 2**30,
                temperature_c=64.0,
                power_w=250.0,
                power_limit_w=700.0,
            ),
            GpuSnapshot(index=1, name="FAKE GPU (tests)", lost=True),
        )
    )


class FixedSampler:
    """A sampler that always reports the same machine: fake GPUs, fixed host and run usage."""

    def __init__(self, gpus: bool = True) -> None:
        self.gpu_source = FakeGpuSource(fake_gpu_reading() if gpus else None)

    def sample(self, runs=()) -> SystemSnapshot:  # type: ignore[no-untyped-def]
        reading = self.gpu_source.read()
        return SystemSnapshot(
            time=NOW,
            host=HostSnapshot(
                cpu_percent=25.0,
                cpu_count=16,
                memory_used_bytes=12 * 2**30,
                memory_total_bytes=64 * 2**30,
            ),
            gpus=reading.gpus,
            gpu_message=reading.message,
            runs=tuple(
                RunUsage(r.id, alive=True, process_count=3, cpu_percent=112.0, rss_bytes=2**30)
                for r in runs
            ),
        )
