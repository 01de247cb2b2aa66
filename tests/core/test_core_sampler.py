"""The system sampler: frozen snapshots, real process trees, GPUs faked behind the interface."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import psutil
import pytest

from autotrain_tui.core.sampler import (
    FakeGpuSource,
    GpuProcess,
    GpuReading,
    GpuSnapshot,
    NvmlGpuSource,
    SystemSampler,
)
from tests.core.support import standin_project, wait_for


def test_snapshot_of_host_and_a_run_process_tree(standin_root: Path) -> None:
    project = standin_project(standin_root)
    record = project.launch("standin")
    running = wait_for(lambda: (r := project.get_run(record.id)).pid and r, what="its pid")
    assert running.pid is not None
    # The pid is recorded while the process still waits at the supervisor's gate; sample
    # it once it has become the run's command.
    wait_for(
        lambda: psutil.Process(running.pid).cmdline() == list(running.command),
        what="the gate to exec the command",
    )
    gpu = GpuSnapshot(
        index=0,
        name="Fake",
        utilization_percent=50.0,
        memory_used_bytes=2**30,
        memory_total_bytes=2**34,
        processes=(GpuProcess(running.pid, 2**29), GpuProcess(1, 2**28)),
    )
    sampler = SystemSampler(FakeGpuSource(GpuReading((gpu,), "")))
    sampler.sample([running])
    snapshot = sampler.sample([running])
    usage = snapshot.run(record.id)
    assert usage is not None and usage.alive and usage.process_count >= 1
    assert usage.rss_bytes > 1_000_000 and usage.cpu_percent >= 0.0
    assert usage.gpu_memory_bytes == 2**29  # only its own process's share
    assert snapshot.gpus == (gpu,)
    assert 0.0 <= snapshot.host.cpu_percent <= 100.0
    assert 0 < snapshot.host.memory_used_bytes < snapshot.host.memory_total_bytes
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.time = 0.0  # type: ignore[misc]
    project.kill(record.id)
    after = sampler.sample([project.get_run(record.id)]).run(record.id)
    assert after is not None and not after.alive and after.gpu_memory_bytes is None


def test_no_gpu_and_lost_gpu_are_reported_not_raised() -> None:
    lost = GpuSnapshot(index=1, lost=True)
    snapshot = SystemSampler(FakeGpuSource(GpuReading((GpuSnapshot(0), lost), ""))).sample()
    assert snapshot.gpus[1].lost and snapshot.gpus[1].memory_used_bytes is None
    none = SystemSampler(FakeGpuSource()).sample()
    assert none.gpus == () and none.gpu_message == "no NVIDIA GPU"


def test_a_failing_gpu_source_never_takes_the_sampler_down() -> None:
    class Broken:
        def read(self) -> GpuReading:
            raise RuntimeError("driver went away")

    snapshot = SystemSampler(Broken()).sample()
    assert snapshot.gpus == () and snapshot.gpu_message == "GPU source failed: driver went away"


def test_nvml_source_answers_on_this_machine() -> None:
    reading = NvmlGpuSource().read()
    if reading.gpus:  # a GPU machine: every GPU is read or marked lost
        assert all(g.lost or g.memory_total_bytes for g in reading.gpus)
    else:
        assert reading.message.startswith("no NVIDIA GPU")
