"""Compare reads other runs' configs through the recipe's bounded parser.

A run directory may be a copy from anywhere; an alias bomb in its config.yaml must neither
hang the compare screen nor grow the UI's memory.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from autotrain_tui.ui.config_diff import differing_keys, read_flat_config
from tests.recipe.test_config_limits import alias_bomb


def test_a_run_config_that_is_an_alias_bomb_has_no_keys_and_bounded_memory(
    tmp_path: Path,
) -> None:
    bomb = tmp_path / "config.yaml"
    bomb.write_text(alias_bomb(601))
    tracemalloc.start()
    try:
        flat = read_flat_config(bomb)
        shown = differing_keys([flat, {"model.hidden": [16]}])  # what the compare table shows
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert flat == {}
    assert shown == [("model.hidden", ["—", "[16]"])]
    assert peak < 50 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


def test_run_configs_flatten_and_only_differing_keys_are_kept(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text("optimizer: {lr: 0.01, name: adamw}\ntrainer: {max_epochs: 3}\n")
    two.write_text("optimizer: {lr: 0.1, name: adamw}\ntrainer: {max_epochs: 3}\n")
    configs = [read_flat_config(one), read_flat_config(two), read_flat_config(tmp_path / "x")]
    assert configs[0] == {"optimizer.lr": 0.01, "optimizer.name": "adamw", "trainer.max_epochs": 3}
    assert configs[2] == {}
    assert [key for key, _ in differing_keys(configs)][:1] == ["optimizer.lr"]
