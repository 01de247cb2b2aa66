"""What the queue needs to know about GPUs: how many there are and how busy each is.

The queue asks two questions only, so the interface is two methods. `NvmlGpuInventory`
answers them from the driver; `FakeGpuInventory` answers them for N virtual GPUs, so the
queue's ordering and its no-double-assignment guarantee are tested on machines with no GPU,
through the same interface. A process that advances the queue picks its inventory with
`default_inventory()`; the `AUTOTRAIN_TUI_FAKE_GPUS` environment variable (inherited by
supervisors) selects the fake one, for tests and demos only.
"""

from __future__ import annotations

import os
from typing import Protocol

from autotrain_tui.core.nvml import nvml

FAKE_GPUS_ENV = "AUTOTRAIN_TUI_FAKE_GPUS"
FAKE_GPU_USED_ENV = "AUTOTRAIN_TUI_FAKE_GPU_USED_MIB"


class GpuInventory(Protocol):
    """The GPUs of this machine as the queue sees them (NVML indices, PCI bus order)."""

    def gpu_count(self) -> int:
        """How many GPUs exist (0 on a CPU-only machine)."""
        ...

    def memory_used_mib(self, index: int) -> float | None:
        """Memory in use on GPU `index` by anyone, in MiB; None when the GPU is unreadable."""
        ...


class NvmlGpuInventory:
    """The real inventory, read through NVML; a machine without NVML has zero GPUs."""

    def gpu_count(self) -> int:
        module = nvml()
        if module is None:
            return 0
        try:
            return int(module.nvmlDeviceGetCount())
        except Exception:
            return 0

    def memory_used_mib(self, index: int) -> float | None:
        module = nvml()
        if module is None:
            return None
        try:
            handle = module.nvmlDeviceGetHandleByIndex(index)
            return float(module.nvmlDeviceGetMemoryInfo(handle).used) / 2**20
        except Exception:
            # A GPU that fell off the bus is not free: the queue must not hand it out.
            return None


class FakeGpuInventory:
    """N virtual GPUs with settable memory use, for tests (see module docstring)."""

    def __init__(self, count: int, used_mib: dict[int, float] | None = None) -> None:
        self.count = count
        self.used_mib: dict[int, float] = dict(used_mib or {})
        self.lost: set[int] = set()

    def gpu_count(self) -> int:
        return self.count

    def memory_used_mib(self, index: int) -> float | None:
        if index in self.lost or not 0 <= index < self.count:
            return None
        return self.used_mib.get(index, 0.0)


def default_inventory() -> GpuInventory:
    """The inventory this process should use: fake when `AUTOTRAIN_TUI_FAKE_GPUS` is set."""
    fake = os.environ.get(FAKE_GPUS_ENV)
    if fake is None or fake == "":
        return NvmlGpuInventory()
    used: dict[int, float] = {}
    for item in os.environ.get(FAKE_GPU_USED_ENV, "").split(","):
        if ":" in item:
            index, mib = item.split(":", 1)
            used[int(index)] = float(mib)
    return FakeGpuInventory(int(fake), used)
