"""The core is headless and torch-free: importing any of its modules in a fresh interpreter
leaves textual, torch and lightning out of sys.modules (ARCHITECTURE.md's import rules)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import autotrain_tui.core

MODULES = sorted(
    ["autotrain_tui.cli", "autotrain_tui.core"]
    + [f"autotrain_tui.core.{m.name}" for m in pkgutil.iter_modules(autotrain_tui.core.__path__)]
)
FORBIDDEN = ("textual", "torch", "lightning", "pytorch_lightning")


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_no_ui_and_no_torch(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} imported {result.stdout.strip()}"


def test_all_core_modules_are_covered() -> None:
    assert "autotrain_tui.core.supervisor" in MODULES and len(MODULES) >= 15


def test_the_uis_first_frame_imports_no_process_table() -> None:
    # psutil (about 15 ms of import) is loaded where it is first used, after the first frame.
    code = "import sys, autotrain_tui.cli, autotrain_tui.ui.app; print('psutil' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_optuna_loads_only_in_the_sweep_driver() -> None:
    # The UI, the CLI and the manager's listings (which probe sweep drivers) never pay
    # optuna's ~0.5 s import; the driver process does (the check is meaningful).
    code = (
        "import sys, autotrain_tui.cli, autotrain_tui.ui.app, autotrain_tui.core.search_sweep\n"
        "print('optuna' in sys.modules)\n"
        "import autotrain_tui.core.sweep_driver\n"
        "print('optuna' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]
