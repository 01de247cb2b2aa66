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
from typing import Any

REPO = Path(__file__).resolve().parent.parent


# What a scratch project copies: the shipped examples a user is invited to edit.
SHIPPED_FILES = ("configs", "custom.py")


def export_shipped(destination: Path, repo: Path = REPO) -> None:
    """Write pristine copies of the shipped configs/ and custom.py into `destination`.

    The README invites users to edit configs/digits.yaml and custom.py, and the tests
    must pass all the same: in a git checkout the committed versions are exported
    (`git archive HEAD`), so a user's edits never reach a test. Only outside git (a
    source tarball) are the working files copied.
    """
    destination.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", "HEAD", *SHIPPED_FILES],
        capture_output=True,
        check=False,
    )
    if archive.returncode == 0:
        subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True)
        return
    shutil.copytree(repo / "configs", destination / "configs")
    shutil.copy(repo / "custom.py", destination / "custom.py")


def shipped_config_names(repo: Path = REPO) -> list[str]:
    """The names of the shipped example configs as committed (working files outside git)."""
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "--name-only", "HEAD", "configs/"],
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout.strip():
        names = [Path(line).name for line in listed.stdout.splitlines()]
    else:
        names = [p.name for p in (repo / "configs").glob("*.yaml")]
    return sorted(n for n in names if n.endswith(".yaml"))


def make_project(root: Path) -> Path:
    """A project directory like the shipped one: configs/, custom.py, examples/."""
    export_shipped(root)
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


def put_in_hf_cache(hf_home: Path, repo: str, state: dict[str, Any]) -> None:
    """Pretrained weights where timm looks offline: the Hugging Face hub cache layout,
    refs/main naming a snapshot that holds `state` as model.safetensors."""
    from safetensors.torch import save_file

    base = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(commit)
    (base / "snapshots" / commit).mkdir(parents=True)
    save_file(
        {k: v.contiguous() for k, v in state.items()},
        base / "snapshots" / commit / "model.safetensors",
    )
