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

`defer_torchvision()` does the same for torchvision, which torchmetrics' `__init__` also
imports whenever it is installed (for two image-quality metrics, ARNIQA and DISTS) and which
a digits or table run never uses. Stand-ins for `torchvision` and `torchvision.models` answer
the three names torchmetrics imports from them with forwarders; the first real use of either,
or any import of a torchvision submodule (a finder at the front of `sys.meta_path` sees it),
imports the real package whole, once, and the stand-ins become it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

SCIPY_SIGNAL = "scipy.signal"


TORCHVISION = "torchvision"
TORCHVISION_MODELS = "torchvision.models"
# What torchmetrics imports from torchvision at start-up (functional/image/arniqa.py and
# dists.py), each used only when one of those metrics runs. tests/recipe/test_deferred_imports
# fails when a torchmetrics release imports more, so this list cannot go stale unseen.
_TORCHVISION_NAMES = {
    TORCHVISION: ("transforms", "models"),
    TORCHVISION_MODELS: ("resnet50", "vgg16", "VGG16_Weights"),
}


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
    if stand_in.__name__.startswith(TORCHVISION):
        _load_torchvision()
        return stand_in.__dict__["_deferred_real"]
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


class _Forward:
    """A name imported from a deferred module (`from torchvision import transforms`):
    calling it, or reading any attribute of it, loads the module and uses the real one."""

    def __init__(self, module: _DeferredModule, name: str) -> None:
        self._module = module
        self._name = name

    def _real(self) -> Any:
        return getattr(_load(self._module), self._name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._real()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<deferred {self._module.__name__}.{self._name}>"


class _ExistingModule(importlib.abc.Loader):
    """Hands the import system a module the real package's own import already made."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system set __spec__ to ours; give the module back its own.
        module.__spec__ = self.spec
        module.__loader__ = self.spec.loader if self.spec is not None else None


class _LoadTorchvisionFirst(importlib.abc.MetaPathFinder):
    """Any `import torchvision.x` while the stand-ins are in place loads the real package
    first: a submodule executed under the stand-in would run without torchvision's own
    `__init__` (its C++ operators registered, its backends set)."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(TORCHVISION + "."):
            return None
        if isinstance(sys.modules.get(TORCHVISION), _DeferredModule):
            _load_torchvision()
        module = sys.modules.get(fullname)
        if module is None:
            return None  # not imported by torchvision itself: the usual finders find it
        return importlib.util.spec_from_loader(fullname, _ExistingModule(module))


_FINDER = _LoadTorchvisionFirst()


def _load_torchvision() -> None:
    """Import the real torchvision in place of both stand-ins; the stand-ins forward to it."""
    stand_ins = {}
    for name in _TORCHVISION_NAMES:
        module = sys.modules.get(name)
        if isinstance(module, _DeferredModule):
            stand_ins[name] = sys.modules.pop(name)
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    importlib.import_module(TORCHVISION)  # its __init__ imports models, transforms, ops
    for name, stand_in in stand_ins.items():
        real = sys.modules[name]
        stand_in.__dict__.update(real.__dict__)
        stand_in.__dict__["_deferred_real"] = real


def defer_torchvision() -> bool:
    """Put off torchvision until it is used. True if the stand-ins were installed.

    Does nothing when torchvision is not installed, or it or torchmetrics is already
    imported (a custom.py that imports torchvision at its top, say): the cost is then
    already paid, or never due.
    """
    if any(name in sys.modules for name in (TORCHVISION, TORCHVISION_MODELS, "torchmetrics")):
        return False
    spec = importlib.util.find_spec(TORCHVISION)
    if spec is None or spec.submodule_search_locations is None:
        return False
    models = importlib.machinery.PathFinder.find_spec(
        TORCHVISION_MODELS, list(spec.submodule_search_locations)
    )
    if models is None:
        return False
    stand_ins = {}
    for name, module_spec in ((TORCHVISION, spec), (TORCHVISION_MODELS, models)):
        stand_in = _DeferredModule(name)
        stand_in.__spec__ = module_spec
        stand_in.__loader__ = module_spec.loader
        stand_in.__file__ = module_spec.origin
        stand_in.__path__ = list(module_spec.submodule_search_locations or [])
        stand_in.__package__ = name
        stand_ins[name] = stand_in
    for name, stand_in in stand_ins.items():
        for attribute in _TORCHVISION_NAMES[name]:
            forward = stand_ins[TORCHVISION_MODELS] if attribute == "models" else None
            setattr(stand_in, attribute, forward or _Forward(stand_in, attribute))
    sys.meta_path.insert(0, _FINDER)
    sys.modules.update(stand_ins)
    return True


def defer_unused_imports() -> None:
    """Everything Lightning's start-up imports that training may never use: call before
    importing Lightning or torchmetrics."""
    defer_scipy_signal()
    defer_torchvision()
