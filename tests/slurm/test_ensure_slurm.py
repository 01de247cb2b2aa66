"""scripts/ensure_slurm.sh: silent when SLURM is here, one clear line when it cannot install it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensure_slurm.sh"


def test_present_means_nothing_to_do() -> None:
    # `make test` ran it before the suite, so everything is installed by now.
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_missing_and_no_apt_get_says_what_to_install(tmp_path: Path) -> None:
    # A PATH with only what the script needs besides SLURM and apt-get: nothing to install with.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "id"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bin_dir)}
    result = subprocess.run(
        [str(bin_dir / "bash"), str(SCRIPT)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "make test: the SLURM tests need slurm-wlm and munge; install them (e.g. 'sudo apt-get "
        "install --no-install-recommends slurm-wlm munge') and run make test again"
    ]
