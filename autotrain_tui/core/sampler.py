"""The system sampler: one call, one frozen snapshot of host, GPUs and each run's processes.

The UI redraws from snapshots it only reads (as nvitop hands out `oneshot` device states),
so sampling happens in one place, at the caller's pace, and nothing here raises because a
process vanished or a GPU fell off the bus: a metric that cannot be read is None, a GPU that
stops answering is reported `lost`, and a machine without NVML reports "no NVIDIA GPU".
GPU figures come from NVML in-process, initialised once — never from spawning nvidia-smi.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import psutil

from autotrain_tui.core.nvml import nvml, nvml_unavailable_reason
from autotrain_tui.core.runs import RunRecord, RunStatus, recipe_alive


@dataclass(frozen=True)
class GpuProcess:
    """A process using a GPU, as NVML sees it."""

    pid: int
    memory_bytes: int | None


@dataclass(frozen=True)
class GpuSnapshot:
    """One GPU at one instant. Metrics the GPU does not report are None."""

    index: int
    name: str = ""
    lost: bool = False
    utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    processes: tuple[GpuProcess, ...] = ()


@dataclass(frozen=True)
class GpuReading:
    """All GPUs at one instant; `message` says why there are none ("no NVIDIA GPU ...")."""

    gpus: tuple[GpuSnapshot, ...] = ()
    message: str = ""


class GpuSource(Protocol):
    """Where GPU figures come from: NVML on a real machine, a fake in tests."""

    def read(self) -> GpuReading: ...


class NvmlGpuSource:
    """GPU figures from NVML, read per device in one pass; never raises."""

    def __init__(self) -> None:
        self._known_count = 0

    def read(self) -> GpuReading:
        module = nvml()
        if module is None:
            return GpuReading((), nvml_unavailable_reason())
        try:
            count = int(module.nvmlDeviceGetCount())
        except Exception as error:
            return GpuReading((), f"no NVIDIA GPU ({error})")
        # A GPU that drops out may shrink the count: keep reporting it, as lost.
        self._known_count = max(self._known_count, count)
        gpus = tuple(self._read_device(module, index) for index in range(self._known_count))
        return GpuReading(gpus, "" if gpus else "no NVIDIA GPU")

    @staticmethod
    def _read_device(module: Any, index: int) -> GpuSnapshot:
        try:
            handle = module.nvmlDeviceGetHandleByIndex(index)
            memory = module.nvmlDeviceGetMemoryInfo(handle)
        except Exception:
            return GpuSnapshot(index=index, lost=True)

        def optional(read: Any) -> Any:
            try:
                return read()
            except Exception:
                return None

        name = optional(lambda: module.nvmlDeviceGetName(handle)) or ""
        util = optional(lambda: module.nvmlDeviceGetUtilizationRates(handle).gpu)
        sensor = getattr(module, "NVML_TEMPERATURE_GPU", 0)
        temp = optional(lambda: module.nvmlDeviceGetTemperature(handle, sensor))
        power = optional(lambda: module.nvmlDeviceGetPowerUsage(handle))
        limit = optional(lambda: module.nvmlDeviceGetEnforcedPowerLimit(handle))
        procs = optional(lambda: module.nvmlDeviceGetComputeRunningProcesses(handle)) or []
        return GpuSnapshot(
            index=index,
            name=name.decode() if isinstance(name, bytes) else str(name),
            utilization_percent=float(util) if util is not None else None,
            memory_used_bytes=int(memory.used),
            memory_total_bytes=int(memory.total),
            temperature_c=float(temp) if temp is not None else None,
            power_w=power / 1000.0 if power is not None else None,
            power_limit_w=limit / 1000.0 if limit is not None else None,
            processes=tuple(
                GpuProcess(int(p.pid), int(p.usedGpuMemory) if p.usedGpuMemory else None)
                for p in procs
            ),
        )


class FakeGpuSource:
    """A settable GPU reading, behind the same interface, for tests and demos."""

    def __init__(self, reading: GpuReading | None = None) -> None:
        self.reading = reading if reading is not None else GpuReading((), "no NVIDIA GPU")

    def read(self) -> GpuReading:
        return self.reading


@dataclass(frozen=True)
class HostSnapshot:
    """The machine: CPU busy % (all cores, 0–100) and memory."""

    cpu_percent: float
    cpu_count: int
    memory_used_bytes: int
    memory_total_bytes: int


@dataclass(frozen=True)
class RunUsage:
    """One run's process tree: CPU % (100 = one core), resident memory, GPU memory."""

    run_id: str
    alive: bool
    process_count: int = 0
    cpu_percent: float = 0.0
    rss_bytes: int = 0
    gpu_memory_bytes: int | None = None


@dataclass(frozen=True)
class SystemSnapshot:
    """Everything the monitor shows, at one instant."""

    time: float
    host: HostSnapshot
    gpus: tuple[GpuSnapshot, ...]
    gpu_message: str
    runs: tuple[RunUsage, ...] = field(default=())

    def run(self, run_id: str) -> RunUsage | None:
        return next((usage for usage in self.runs if usage.run_id == run_id), None)


class SystemSampler:
    """Produces `SystemSnapshot`s; keeps psutil handles between ticks for CPU % deltas."""

    def __init__(self, gpu_source: GpuSource | None = None) -> None:
        self.gpu_source: GpuSource = gpu_source if gpu_source is not None else NvmlGpuSource()
        self._procs: dict[tuple[int, float], psutil.Process] = {}
        psutil.cpu_percent(interval=None)  # primes the host counter

    def sample(self, runs: Iterable[RunRecord] = ()) -> SystemSnapshot:
        """Read everything once. CPU % covers the time since the previous call."""
        memory = psutil.virtual_memory()
        host = HostSnapshot(
            cpu_percent=psutil.cpu_percent(interval=None),
            cpu_count=psutil.cpu_count() or 1,
            memory_used_bytes=int(memory.total - memory.available),
            memory_total_bytes=int(memory.total),
        )
        try:
            reading = self.gpu_source.read()
        except Exception as error:  # a custom source must not take the monitor down
            reading = GpuReading((), f"GPU source failed: {error}")
        gpu_memory_by_pid: dict[int, int] = {}
        for gpu in reading.gpus:
            for proc in gpu.processes:
                if proc.memory_bytes:
                    gpu_memory_by_pid[proc.pid] = (
                        gpu_memory_by_pid.get(proc.pid, 0) + proc.memory_bytes
                    )
        seen: set[tuple[int, float]] = set()
        usages = tuple(
            self._run_usage(record, gpu_memory_by_pid, bool(reading.gpus), seen) for record in runs
        )
        for key in set(self._procs) - seen:
            del self._procs[key]
        return SystemSnapshot(time.time(), host, reading.gpus, reading.message, usages)

    def _handle(self, proc: psutil.Process, seen: set[tuple[int, float]]) -> psutil.Process:
        key = (proc.pid, proc.create_time())
        seen.add(key)
        cached = self._procs.get(key)
        if cached is None:
            cached = self._procs[key] = proc
            cached.cpu_percent(interval=None)  # first reading is always 0: prime it
        return cached

    def _run_usage(
        self,
        record: RunRecord,
        gpu_memory_by_pid: dict[int, int],
        have_gpus: bool,
        seen: set[tuple[int, float]],
    ) -> RunUsage:
        if record.status is not RunStatus.RUNNING or record.pid is None or not recipe_alive(record):
            return RunUsage(record.id, alive=False)
        try:
            root = psutil.Process(record.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return RunUsage(record.id, alive=False)
        cpu = 0.0
        rss = 0
        count = 0
        gpu_bytes = 0
        for member in tree:
            try:
                handle = self._handle(member, seen)
                with handle.oneshot():
                    cpu += handle.cpu_percent(interval=None)
                    rss += handle.memory_info().rss
                count += 1
                gpu_bytes += gpu_memory_by_pid.get(member.pid, 0)
            except psutil.Error:
                continue  # exited between the listing and the read
        return RunUsage(
            record.id,
            alive=count > 0,
            process_count=count,
            cpu_percent=cpu,
            rss_bytes=rss,
            gpu_memory_bytes=gpu_bytes if have_gpus else None,
        )
