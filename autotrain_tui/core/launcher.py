"""Creating runs and starting their supervisors.

A launch is: validate the config with the recipe's own checker (a config that fails
validation is never launched), create `runs/<run-id>/` with `config.yaml` exactly as launched
(overrides applied by the recipe's round-trip editor, comments kept) and a `queued`
`run.json`; the queue then starts it by spawning a supervisor here. The supervisor runs in a
new session with stdin from /dev/null and detaches itself from us (double fork), so closing
the terminal, killing the UI or losing the SSH connection takes neither it nor the run down,
and no zombie of it is left in a long-lived UI.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import autotrain_tui
from autotrain_tui.core.atomic import write_atomic
from autotrain_tui.core.errors import InvalidConfigError, ManagerError
from autotrain_tui.core.runs import (
    CONFIG_YAML,
    SUPERVISOR_LOG,
    RunRecord,
    RunStatus,
    run_lock,
    write_run,
)

CHECK_TIMEOUT_S = 300.0
SUPERVISOR_START_TIMEOUT_S = 60.0
_ID_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_LOCATED = re.compile(r"^.+:\d+:\d+: ")


def new_run_id(config_stem: str, now: float | None = None) -> str:
    """`<config-stem>-YYYYmmdd-HHMMSS-<4 hex>`: readable, sortable, and unique in practice."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    stem = _ID_SAFE.sub("-", config_stem).strip("-.") or "run"
    return f"{stem}-{stamp}-{os.urandom(2).hex()}"


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment for child processes, with this package importable from a checkout.

    When autotrain_tui runs from a source tree rather than an installed wheel, its parent
    directory (which holds `recipe/` too) goes first on PYTHONPATH so that
    `python -m autotrain_tui.core.supervisor` and `python -m recipe` resolve from any cwd.
    """
    env = dict(os.environ)
    source_root = str(Path(autotrain_tui.__file__).resolve().parent.parent)
    site_dirs = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    if source_root not in site_dirs:
        parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if source_root not in parts:
            env["PYTHONPATH"] = os.pathsep.join([source_root, *parts])
    if extra:
        env.update(extra)
    return env


def apply_overrides(recipe_module: str, text: str, overrides: Sequence[str]) -> str:
    """The config text with `overrides` applied by the recipe's torch-free round-trip editor."""
    if not overrides:
        return text
    try:
        config_module = importlib.import_module(f"{recipe_module}.config")
        apply = config_module.apply_overrides_to_text
    except (ImportError, AttributeError) as error:
        raise ManagerError(
            f"cannot apply overrides: {recipe_module}.config.apply_overrides_to_text "
            f"is unavailable ({error})"
        ) from error
    try:
        return str(apply(text, list(overrides)))
    except Exception as error:
        raise ManagerError(f"cannot apply overrides {' '.join(overrides)}: {error}") from error


def requested_gpus(config_text: str, gpu_count: int) -> int:
    """How many GPUs a config asks for, from `trainer.devices` and `trainer.accelerator`.

    An int is itself, a list is its length, "auto" is one GPU when the machine has any and
    none otherwise, -1 is all of them, and `accelerator: cpu` is none at all.
    """
    try:
        from ruamel.yaml import YAML  # only when launching: keeps the UI's start-up light

        data: Any = YAML(typ="safe").load(config_text)
    except Exception:
        data = None
    trainer = data.get("trainer") if isinstance(data, dict) else None
    trainer = trainer if isinstance(trainer, dict) else {}
    accelerator = str(trainer.get("accelerator", "auto")).lower()
    if accelerator == "cpu":
        return 0
    devices = trainer.get("devices", "auto")
    if isinstance(devices, str) and re.fullmatch(r"-?\d+", devices.strip()):
        devices = int(devices)
    if isinstance(devices, bool):
        return 1 if gpu_count else 0
    if isinstance(devices, int):
        return gpu_count if devices == -1 else max(devices, 0)
    if isinstance(devices, list):
        return len(devices)
    if isinstance(devices, str) and "," in devices:
        return len([d for d in devices.split(",") if d.strip()])
    return 1 if gpu_count else 0


def check_config(
    python: str,
    recipe_module: str,
    cwd: Path,
    config: Path,
    overrides: Sequence[str],
    grid: Sequence[Sequence[str]] | None = None,
) -> None:
    """Run `python -m recipe check CONFIG k=v ...`; raise InvalidConfigError with its lines.

    With `grid` (a sweep's points), every point is checked in the same one process.
    """
    command = [python, "-m", recipe_module, "check", str(config), *overrides]
    if grid is not None:
        command += ["--grid", json.dumps([list(point) for point in grid])]
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ManagerError(f"cannot run `{recipe_module} check`: {error}") from error
    if result.returncode == 0:
        return
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.returncode == 2:
        # Keep the FILE:LINE:COL lines; the recipe's closing summary adds nothing here.
        located = [line for line in lines if _LOCATED.match(line)]
        shown = display_path(config, cwd)
        raise InvalidConfigError(shown, located or lines or [f"{shown}: invalid config"])
    last = lines[-1] if lines else "no message"
    raise ManagerError(
        f"`{recipe_module} check {config}` failed with exit code {result.returncode}: {last}"
    )


def train_command(python: str, recipe_module: str, run_rel: str) -> list[str]:
    return [python, "-m", recipe_module, "train", f"{run_rel}/{CONFIG_YAML}", "--run-dir", run_rel]


def resume_command(python: str, recipe_module: str, run_rel: str) -> list[str]:
    return [python, "-m", recipe_module, "train", "--resume", run_rel]


def display_path(path: Path, root: Path) -> str:
    """`path` relative to the project when it lies inside it, else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(root.resolve()))
    except ValueError:
        return str(resolved)


def create_run(
    root: Path,
    runs_dir: Path,
    config: Path,
    config_text: str,
    overrides: Sequence[str],
    *,
    python: str,
    recipe_module: str,
    gpus_requested: int,
    sweep: str | None = None,
    backend: str = "local",
    trial: dict[str, Any] | None = None,
) -> RunRecord:
    """Create `runs/<run-id>/` with `config.yaml` and a `queued` `run.json` (with `trial`,
    a search sweep's `{"number", "params"}`: docs/run-directory.md).

    A `backend="slurm"` run waits for its submission, never for the local queue."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        run_id = new_run_id(config.stem)
        run_dir = runs_dir / run_id
        try:
            run_dir.mkdir()
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 16 random bits within one second
        raise ManagerError(f"cannot create a unique run directory under {runs_dir}")
    try:
        write_atomic(run_dir / CONFIG_YAML, config_text)
        # The code the run is launched with (custom.py and the project's commit), kept in the
        # run directory so predict and resume work from anywhere and after edits. The module
        # is torch-free; a recipe without it (a stand-in) records nothing here.
        try:
            snapshot = importlib.import_module(f"{recipe_module}.code_snapshot")
        except ImportError:
            snapshot = None
        if snapshot is not None:
            custom = snapshot.custom_from_text(config_text)
            try:
                snapshot.snapshot_code(str(root), custom, str(run_dir))
            except OSError as error:
                raise ManagerError(f"cannot copy {custom} into {run_dir}: {error}") from error
        run_rel = display_path(run_dir, root)
        now = time.time()
        record = RunRecord(
            id=run_id,
            run_dir=run_dir,
            status=RunStatus.QUEUED,
            config=display_path(config, root),
            overrides=tuple(overrides),
            command=tuple(train_command(python, recipe_module, run_rel)),
            cwd=str(root.resolve()),
            host=socket.gethostname(),
            gpus_requested=gpus_requested,
            sweep=sweep,
            created_at=now,
            queue_order=now,
            backend=backend,
            extra={"trial": trial} if trial is not None else {},
        )
        with run_lock(run_dir):
            write_run(record)
        return record
    except BaseException:
        # A run directory half made (a full disk, a read-only file) would be listed as a
        # broken run forever: nothing of it stays.
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def spawn_session(command: list[str], log_path: Path, cwd: str | None = None) -> subprocess.Popen:
    """Start `command` in a new session (no terminal, its own process group), stdin from
    /dev/null, stdout and stderr appended to `log_path`: a manager's helper process that
    must not die with the terminal or the UI."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=cwd or None,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def spawn_supervisor(record: RunRecord, python: str = sys.executable) -> None:
    """Start the detached supervisor for a run the queue just marked `running`.

    Returns once the supervisor has recorded its pid in `run.json` (its first act), so a
    caller that lists runs right after sees who owns the run.
    """
    log_path = record.run_dir / SUPERVISOR_LOG
    command = [python, "-m", "autotrain_tui.core.supervisor", str(record.run_dir.resolve())]
    proc = spawn_session(command, log_path, cwd=record.cwd)
    try:
        code = proc.wait(timeout=SUPERVISOR_START_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise ManagerError(f"the supervisor did not start within {error.timeout:.0f} s") from error
    if code != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        raise ManagerError(f"exit code {code}: {tail[-1] if tail else 'no output'}")
