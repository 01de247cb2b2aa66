"""Imports that training does not need, put off until something uses them.

torchmetrics' `__init__` (imported by Lightning's own start-up, whatever the config)
imports `scipy.signal` whenever SciPy is installed, which it always is here since
scikit-learn requires it, only to alias `scipy.signal.hamming` for an old audio package.
That one import costs about a second on a 2-core machine, a fifth of the time from
`python -m recipe train` to the first metric, and nothing in training uses it.

`defer_scipy_signal()` puts a stand-in module in `sys.modules` before Lightning is
imported. The stand-in answers torchmetrics' one check (`hasattr(scipy.signal,
"hamming")`) and becomes the real module the first time anything else is asked of it:
`from scipy.signal import butter` or `scipy.signal.windows` in a user's custom.py work
as always, at the usual cost, paid then.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

SCIPY_SIGNAL = "scipy.signal"


class _DeferredModule(types.ModuleType):
    """Stands in for a module in `sys.modules`; the first real use imports the module."""

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes the stand-in lacks: anything but the preset ones.
        return getattr(_load(self), name)


def _load(stand_in: _DeferredModule) -> types.ModuleType:
    """Import the real module in the stand-in's place and make the stand-in forward to it.

    No lock of its own: two threads arriving at once both import, and the import system's
    per-module lock gives them the same module; everything after that is idempotent.
    """
    real = stand_in.__dict__.get("_deferred_real")
    if real is not None:
        return real
    if sys.modules.get(stand_in.__name__) is stand_in:
        sys.modules.pop(stand_in.__name__, None)
    real = importlib.import_module(stand_in.__name__)  # also sets the parent's attribute
    _keep_torchmetrics_alias(real)
    # Whoever holds the stand-in itself (`import scipy.signal as s` before the load) now
    # finds every name on it directly.
    stand_in.__dict__.update(real.__dict__)
    stand_in.__dict__["_deferred_real"] = real
    return real


def _keep_torchmetrics_alias(signal: types.ModuleType) -> None:
    """What torchmetrics would have done to the real module: alias `hamming`."""
    if not hasattr(signal, "hamming") and hasattr(signal, "windows"):
        signal.hamming = signal.windows.hamming  # type: ignore[attr-defined]


def _hamming(*args: Any, **kwargs: Any) -> Any:
    """`scipy.signal.hamming`, loading scipy.signal when first called."""
    return sys.modules[SCIPY_SIGNAL].windows.hamming(*args, **kwargs)


def defer_scipy_signal() -> bool:
    """Put off `scipy.signal` until it is used. True if the stand-in was installed.

    Does nothing when SciPy is not installed or `scipy.signal` (or torchmetrics, which
    imports it) is already imported: the cost is then already paid, or never due.
    """
    if SCIPY_SIGNAL in sys.modules or "torchmetrics" in sys.modules:
        return False
    scipy = importlib.util.find_spec("scipy")
    if scipy is None or scipy.submodule_search_locations is None:
        return False
    # Found without importing scipy itself.
    spec = importlib.machinery.PathFinder.find_spec(
        SCIPY_SIGNAL, list(scipy.submodule_search_locations)
    )
    if spec is None:
        return False
    stand_in = _DeferredModule(SCIPY_SIGNAL)
    # What a scan of sys.modules reads (inspect.getmodule, run by torch's own imports, asks
    # every module for __file__), answered without loading.
    stand_in.__spec__ = spec
    stand_in.__loader__ = spec.loader
    stand_in.__file__ = spec.origin
    stand_in.__path__ = list(spec.submodule_search_locations or [])
    stand_in.__package__ = SCIPY_SIGNAL
    stand_in.hamming = _hamming  # type: ignore[attr-defined]
    sys.modules[SCIPY_SIGNAL] = stand_in
    return True
