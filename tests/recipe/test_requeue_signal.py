"""SIGUSR1 is SLURM's warning only inside a SLURM job; elsewhere the recipe leaves it alone.

Inside a job it asks for a checkpoint and a requeue (tests/slurm/test_slurm_recipe.py, on the
real test cluster). Outside one nobody sends it for that, and a handler would change what
the signal means to whoever does: the recipe installs none, so its default action holds.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.helpers import start_recipe, wait_for


def test_outside_slurm_sigusr1_keeps_its_default_action(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    # custom.py holds the recipe in its config check, after its own handlers are installed.
    (project / "custom.py").write_text(
        "import pathlib, time\npathlib.Path('importing').write_text('')\ntime.sleep(30)\n"
    )
    process = start_recipe(["train", "configs/digits.yaml", "--run-dir", "r"], project)
    try:
        wait_for(lambda: (project / "importing").exists(), what="custom.py being imported")
        os.kill(process.pid, signal.SIGUSR1)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == -signal.SIGUSR1, output
    assert "SIGUSR1" not in output
