"""Fixtures for the UI tests: a scratch project, the real recipe, clean-up of every run.

Runs are real `python -m recipe train` processes on tiny configs (digits, one hidden layer
of 16, two epochs, CPU). Teardown SIGKILLs every supervisor and process group a test's runs
recorded, so a failing test leaves nothing running on a shared machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from autotrain_tui.core import trust
from autotrain_tui.core.gpus import FAKE_GPU_USED_ENV, FAKE_GPUS_ENV
from tests.core.support import kill_project_processes
from tests.helpers import REPO, make_project

# Small enough to finish in a few seconds on two busy cores, long enough to watch.
TINY_OVERRIDES = ("trainer.max_epochs=2", "model.hidden=[16]")


@pytest.fixture(autouse=True)
def _subprocess_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Children find this checkout's recipe; the queue sees no GPUs on any machine."""
    parts = [str(REPO), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in parts if p))
    monkeypatch.setenv(FAKE_GPUS_ENV, "0")
    monkeypatch.delenv(FAKE_GPU_USED_ENV, raising=False)


@pytest.fixture
def ui_project(tmp_path: Path) -> Iterator[Path]:
    """A copy of the shipped project, trusted (its code may run); every run it starts is
    killed afterwards."""
    root = make_project(tmp_path / "project")
    trust.trust_project(root)
    try:
        yield root
    finally:
        kill_project_processes(root)


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` UI tests in a fresh event loop (no async plugin needed)."""
    import asyncio
    import inspect

    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(pyfuncitem.obj(**kwargs))
    return True
