"""Helpers for the run-manager tests: configs, polling, clean-up of every process a test started.

Every test that starts runs gets a fresh project under tmp_path, and its teardown SIGKILLs
every process group and supervisor the project's runs recorded, so a failing test never
leaves training processes behind on a shared machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

from autotrain_tui.core import Project
from autotrain_tui.core.groups import group_members
from autotrain_tui.core.runs import process_matches

STANDIN_DIR = Path(__file__).parent / "standin"
REPO_ROOT = Path(__file__).resolve().parents[2]

# The tiny real config: digits, one small hidden layer, CPU. One epoch takes about a second.
TINY_CONFIG = """\
# A tiny config for the manager's integration tests.
project:
  name: tiny
  seed: 0
data:
  _target_: digits
  val_fraction: 0.2
dataloader:
  batch_size: 128
model:
  _target_: mlp
  hidden: [16]
optimizer:
  _target_: adamw
  lr: 3.0e-3
trainer:
  max_epochs: 1
  log_every_n_steps: 2
  accelerator: cpu
"""

STANDIN_CONFIG = "# stand-in config\nproject:\n  name: standin\n"

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout_s: float = 180.0, what: str = "condition") -> T:
    """Poll `condition` until it returns something truthy; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def raw_run_json(run_dir: Path) -> dict:
    """run.json as written, without any reconciling a Project would do."""
    return json.loads((run_dir / "run.json").read_text())


def metrics_steps(run_dir: Path) -> list[int]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    steps = []
    for line in path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if "metrics" in event and isinstance(event.get("step"), int):
            steps.append(event["step"])
    return steps


def kill_project_processes(root: Path) -> None:
    """SIGKILL every supervisor and recipe group recorded under root/runs, then any process
    still working inside root.

    Queued runs are marked stopped first and supervisors die before recipes, so no
    supervisor can start a queued run behind our back while we clean up. A supervisor
    killed between starting its recipe and recording the recipe's pid leaves a recipe no
    record names (a CI run left one behind): the last sweep finds it by its working
    directory.
    """
    try:
        _kill_sweep_drivers(root / "runs")  # first: a driver would launch more trials
        _kill_recorded(root / "runs")
    finally:
        _kill_working_in(root)


def _kill_working_in(root: Path) -> None:
    inside = str(root.resolve())
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["cwd"]):
        cwd = proc.info.get("cwd")
        if proc.pid != os.getpid() and cwd and (cwd == inside or cwd.startswith(inside + os.sep)):
            with contextlib.suppress(psutil.Error):
                proc.kill()
                found.append(proc)
    psutil.wait_procs(found, timeout=5)


def _kill_sweep_drivers(runs: Path) -> None:
    """SIGKILL every search sweep's driver (driver.json: pid + start ticks)."""
    for driver_json in runs.glob(".sweeps/*/driver.json"):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(driver_json.read_text())
            pid = data.get("pid")
            if isinstance(pid, int) and process_matches(
                pid, None, data.get("start_ticks"), data.get("boot_id")
            ):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _kill_recorded(runs: Path) -> None:
    for _ in range(5):
        records = []
        for run_json in runs.glob("*/run.json"):
            try:
                data = json.loads(run_json.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(data, dict):  # a damaged record a test wrote on purpose
                continue
            if data.get("status") == "queued":
                data["status"] = "stopped"
                run_json.write_text(json.dumps(data))
            records.append(data)
        for data in records:
            sup = data.get("supervisor_pid")
            if isinstance(sup, int) and process_matches(
                sup,
                data.get("supervisor_create_time"),
                data.get("supervisor_start_ticks"),
                data.get("boot_id"),
            ):
                with contextlib.suppress(ProcessLookupError):  # it may exit meanwhile
                    os.kill(sup, signal.SIGKILL)
        alive = False
        for data in records:
            pgid = data.get("pgid")
            if pgid and group_members(pgid):
                alive = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
        if not alive:
            return
        time.sleep(0.2)


def make_root(tmp_path: Path, config_name: str, text: str) -> Path:
    root = tmp_path / "project"
    (root / "configs").mkdir(parents=True)
    (root / "configs" / config_name).write_text(text)
    return root


def standin_project(root: Path) -> Project:
    """A Project over the stand-in recipe, with the fake GPUs the environment declares."""
    return Project(root, recipe_module="standin_recipe")
