"""One NVML session per process, opened on first use and never raising.

NVML (module `pynvml` from nvidia-ml-py) is how we read GPUs in-process; spawning
`nvidia-smi` every tick would cost a process per second and break under load. Initialising
NVML is slow-ish and must happen once, and on a machine with no driver or no library the
whole manager must keep working: callers get None and a one-line reason instead.
"""

from __future__ import annotations

import threading
from types import ModuleType

NO_GPU_MESSAGE = "no NVIDIA GPU"

_lock = threading.Lock()
_state: dict[str, object] = {}


def nvml() -> ModuleType | None:
    """The initialised `pynvml` module, or None when NVML cannot be used here."""
    with _lock:
        if "module" in _state:
            module = _state["module"]
            return module if isinstance(module, ModuleType) else None
        _state["module"] = None
        _state["reason"] = NO_GPU_MESSAGE
        try:
            import pynvml
        except ImportError:
            _state["reason"] = f"{NO_GPU_MESSAGE} (nvidia-ml-py is not installed)"
            return None
        try:
            pynvml.nvmlInit()
        except Exception as error:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
            _state["reason"] = f"{NO_GPU_MESSAGE} ({_describe(error)})"
            return None
        _state["module"] = pynvml
        return pynvml


def nvml_unavailable_reason() -> str:
    """Why `nvml()` returned None ("no NVIDIA GPU (...)"); empty when NVML works."""
    module = nvml()
    if module is not None:
        return ""
    return str(_state.get("reason", NO_GPU_MESSAGE))


def _describe(error: Exception) -> str:
    text = str(error).strip()
    return text or type(error).__name__
