"""Helpers shared by the tests: a scratch copy of the shipped project, running the recipe.

Tests run the real `python -m recipe` in a subprocess, in a temporary project directory
holding copies of configs/ and custom.py (and a link to the example data), so no test
writes into the repository and every run directory is thrown away afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_project(root: Path) -> Path:
    """A project directory like the shipped one: configs/, custom.py, examples/."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "configs", root / "configs")
    shutil.copy(REPO / "custom.py", root / "custom.py")
    (root / "examples").symlink_to(REPO / "examples")
    return root


def recipe_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


def run_recipe(
    args: Sequence[str], cwd: Path, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run `python -m recipe ARGS` in `cwd` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "recipe", *args],
        cwd=cwd,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_metrics(run_dir: Path) -> list[dict]:
    """Every record of a run's metrics.jsonl."""
    import json

    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def start_recipe(args: Sequence[str], cwd: Path) -> subprocess.Popen[str]:
    """Start `python -m recipe ARGS` in the background (its own session, like a real run)."""
    return subprocess.Popen(
        [sys.executable, "-m", "recipe", *args],
        cwd=cwd,
        env=recipe_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(predicate, timeout: float = 120.0, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def socket_path(name: str) -> Path:
    """Where `tmux -L NAME` keeps its socket, which tmux 3.3 leaves behind on kill-server."""
    return Path(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", name)
