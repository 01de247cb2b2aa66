"""Fixtures for the run-manager tests: real project directories, real processes, clean-up.

Every test that starts runs gets a fresh project under tmp_path, and its teardown SIGKILLs
every process group and supervisor the project's runs recorded, so a failing test never
leaves training processes behind on a shared machine. The helpers live in support.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autotrain_tui.core import Project, trust
from autotrain_tui.core.gpus import FAKE_GPU_USED_ENV, FAKE_GPUS_ENV
from tests.core.support import (
    REPO_ROOT,
    STANDIN_CONFIG,
    STANDIN_DIR,
    TINY_CONFIG,
    kill_project_processes,
    make_root,
)


@pytest.fixture(autouse=True)
def _subprocess_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Children find the stand-in recipe, this checkout, and no fake GPUs unless asked."""
    parts = [str(STANDIN_DIR), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in parts if p))
    # Zero fake GPUs by default: the same answer on a CPU box and on a GPU box.
    monkeypatch.setenv(FAKE_GPUS_ENV, "0")
    monkeypatch.delenv(FAKE_GPU_USED_ENV, raising=False)
    if str(STANDIN_DIR) not in sys.path:
        sys.path.insert(0, str(STANDIN_DIR))


@pytest.fixture
def real_project(tmp_path: Path) -> Iterator[Project]:
    """A project running the real recipe on configs/tiny.yaml, CPU only."""
    root = make_root(tmp_path, "tiny.yaml", TINY_CONFIG)
    trust.trust_project(root)  # these tests launch through Project, which needs trust
    try:
        yield Project(root)
    finally:
        kill_project_processes(root)


@pytest.fixture
def fake_gpus(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make this process and every supervisor it spawns see N fake GPUs."""

    def set_count(count: int, used: str = "") -> None:
        monkeypatch.setenv(FAKE_GPUS_ENV, str(count))
        monkeypatch.setenv(FAKE_GPU_USED_ENV, used)

    return set_count


@pytest.fixture
def standin_root(tmp_path: Path) -> Iterator[Path]:
    """A project directory for the stand-in recipe (configs/standin.yaml)."""
    root = make_root(tmp_path, "standin.yaml", STANDIN_CONFIG)
    trust.trust_project(root)  # these tests launch through Project, which needs trust
    try:
        yield root
    finally:
        kill_project_processes(root)
