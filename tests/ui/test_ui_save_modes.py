"""A config saved from the editor follows the user's umask, like every other file we write.

A teammate's UI on a shared project reads these files: a new config saved 0644 under a
umask of 027, or 0600 by mkstemp, would be the odd one out.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autotrain_tui.ui.editing import save_text


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_a_new_config_follows_the_umask_and_a_saved_one_keeps_its_mode(
    tmp_path: Path, umask: int, mode: int
) -> None:
    previous = os.umask(umask)
    try:
        new = tmp_path / "new.yaml"
        save_text(new, "a: 1\n")
        kept = tmp_path / "kept.yaml"
        kept.write_text("b: 1\n")
        kept.chmod(0o664)
        save_text(kept, "b: 2\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(new.stat().st_mode) == mode
    assert stat.S_IMODE(kept.stat().st_mode) == 0o664
    assert kept.read_text() == "b: 2\n"
