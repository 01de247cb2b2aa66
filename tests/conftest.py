"""Fixtures shared by every test directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the shipped project (configs/, custom.py, examples/)."""
    return make_project(tmp_path / "project")


@pytest.fixture(autouse=True)
def _private_user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each test (and every process it starts) gets an empty user config directory, so the
    trust decisions of the user running the tests neither leak in nor get written."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    # An empty cache too: model name lists, and the weights caches that follow it (the
    # Hugging Face hub's and torch's), so weights the user has downloaded never leak in.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    for name in ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TORCH_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def search_sweep(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Three real tiny runs rewritten into a search sweep's trials (tests/sweep_trials.py),
    made once for the whole session; its users only read it."""
    from tests.sweep_trials import make_search_sweep

    root = tmp_path_factory.mktemp("search-sweep") / "project"
    return make_search_sweep(root, tmp_path_factory.mktemp("search-sweep-xdg"))
