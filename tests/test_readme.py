"""The README stays current: every key of the UI and every example config is in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotrain_tui.ui.keys import KEYS
from tests.helpers import shipped_config_names

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.keys)
def test_every_key_is_documented(key) -> None:  # type: ignore[no-untyped-def]
    assert f"| `{key.keys}` | {key.what} |" in README


@pytest.mark.parametrize("config", shipped_config_names())
def test_every_example_config_is_documented(config: str) -> None:
    assert f"`{config}`" in README or f"`{config.removesuffix('.yaml')}" in README


def test_the_two_commands_are_make_run_and_make_test() -> None:
    assert "make run" in README and "make test" in README
    assert "make test" in (REPO / ".ci" / "run").read_text()
