"""Fixtures shared by every test directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the shipped project (configs/, custom.py, examples/)."""
    return make_project(tmp_path / "project")
