"""The three import rules of ARCHITECTURE.md, checked in fresh interpreters and in the source.

1. ui → core → nothing UI: autotrain_tui.core never imports textual (tests/core covers it
   module by module).
2. autotrain_tui never imports torch or Lightning, the UI included: start-up stays instant
   and the UI keeps working when a run's stack is broken.
3. recipe never imports autotrain_tui; and recipe.config is torch-free, so the UI can check
   a config as the user types.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import autotrain_tui
import recipe.config

REPO = Path(__file__).resolve().parent.parent
TORCH = ("torch", "lightning", "pytorch_lightning", "lightning_fabric", "torchmetrics")


def all_modules(package: object) -> list[str]:
    prefix = package.__name__ + "."  # type: ignore[attr-defined]
    names = [package.__name__]  # type: ignore[attr-defined]
    names += [m.name for m in pkgutil.walk_packages(package.__path__, prefix)]  # type: ignore[attr-defined]
    return sorted(n for n in names if not n.endswith("__main__"))


def imported_roots(modules: list[str]) -> set[str]:
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_autotrain_tui_imports_no_torch_anywhere() -> None:
    modules = all_modules(autotrain_tui)
    assert "autotrain_tui.cli" in modules
    loaded = imported_roots(modules)
    assert "autotrain_tui" in loaded
    assert not loaded & set(TORCH), sorted(loaded & set(TORCH))


def test_recipe_config_is_torch_free() -> None:
    modules = [*all_modules(recipe.config), "recipe.builtins", "recipe.registry"]
    loaded = imported_roots(modules)
    assert "ruamel" in loaded
    assert not loaded & set(TORCH), sorted(loaded & set(TORCH))


@pytest.mark.parametrize("path", sorted((REPO / "recipe").rglob("*.py")), ids=str)
def test_recipe_source_never_imports_autotrain_tui(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        line = getattr(node, "lineno", 0)
        for name in names:
            assert not name.startswith("autotrain_tui"), f"{path}:{line} imports {name}"


def test_recipe_training_stack_loads_without_autotrain_tui() -> None:
    loaded = imported_roots(["recipe.train", "recipe.module", "recipe.data", "recipe.callbacks"])
    assert "torch" in loaded  # the check is meaningful: the heavy stack really loaded
    assert "autotrain_tui" not in loaded and "textual" not in loaded
