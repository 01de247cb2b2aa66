"""Search sweeps on the manager's side: `runs/.sweeps/<id>/`, starting and finding drivers.

A search sweep (`sweep CONFIG --trials N`) is a definition (`sweep.json`), an Optuna study
in a journal file, and one detached driver process (`core.sweep_driver`) that asks the study
for points and runs them as ordinary runs. Everything here is optuna-free and cheap, because
every manager (a UI poll, `runs`, `sweeps`) calls `ensure_drivers`: a sweep that is neither
finished nor stopped and whose driver lock is free gets a new driver, which reconciles the
study with the runs and carries on. docs/run-directory.md has the files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotrain_tui.core.atomic import write_atomic, write_json_atomic
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord
from autotrain_tui.core.search_space import SearchSpace, parse_space
from autotrain_tui.core.sweep import new_sweep_id

if TYPE_CHECKING:
    from autotrain_tui.core.project import Project

SWEEPS_DIR = ".sweeps"
SWEEP_JSON = "sweep.json"
STUDY_JOURNAL = "study.journal"
DRIVER_LOCK = "driver.lock"
DRIVER_JSON = "driver.json"
DRIVER_LOG = "driver.log"
CONFIG_YAML = "config.yaml"  # the config as the sweep started: every trial starts from it
STATE_JSON = "state.json"  # {"stopped_at": t | null, "finished_at": t | null}
PRUNERS = ("asha", "hyperband", "none")
_MAXIMISED = ("acc", "f1", "iou", "auc", "map", "dice", "r2", "precision", "recall")


def sweep_dir(runs_dir: Path, sweep_id: str) -> Path:
    return runs_dir / SWEEPS_DIR / sweep_id


def default_mode(metric: str) -> str:
    """`max` for a metric that grows as the model improves (accuracy, F1, IoU…), else `min`."""
    name = metric.rsplit("/", 1)[-1].lower()
    return "max" if any(word in name for word in _MAXIMISED) else "min"


@dataclass(frozen=True)
class SweepSettings:
    """What `sweep --trials` takes beside the config and its items."""

    trials: int
    concurrency: int = 1
    pruner: str = "asha"
    min_epochs: int = 1
    eta: int = 3
    metric: str = "val/loss"
    mode: str | None = None  # default: from the metric's name
    seed: int = 0

    def check(self) -> None:
        if self.trials < 1:
            raise ManagerError(f"--trials must be at least 1, not {self.trials}")
        if self.concurrency < 1:
            raise ManagerError(f"--concurrency must be at least 1, not {self.concurrency}")
        if self.pruner not in PRUNERS:
            raise ManagerError(f"unknown pruner {self.pruner!r}; use {', '.join(PRUNERS)}")
        if self.min_epochs < 1:
            raise ManagerError(f"--min-epochs must be at least 1, not {self.min_epochs}")
        if self.eta < 2:
            raise ManagerError(f"--eta must be at least 2, not {self.eta}")
        if self.mode not in (None, "min", "max"):
            raise ManagerError(f"--mode must be min or max, not {self.mode!r}")


def definition(
    sweep_id: str,
    config: str,
    space: SearchSpace,
    settings: SweepSettings,
    *,
    max_epochs: int | None,
    backend: str,
) -> dict[str, Any]:
    """The `sweep.json` object (docs/run-directory.md), written once when the sweep starts."""
    if settings.pruner == "none":
        pruner: dict[str, Any] = {"name": "none"}
    else:
        pruner = {
            "name": settings.pruner,
            "min_resource": settings.min_epochs,
            "reduction_factor": settings.eta,
            "max_resource": max_epochs,
        }
    return {
        "version": 1,
        "id": sweep_id,
        "config": config,
        "overrides": list(space.fixed),
        "kind": "search",
        "space": space.spec(),
        "trials": settings.trials,
        "metric": settings.metric,
        "mode": settings.mode or default_mode(settings.metric),
        "pruner": pruner,
        "concurrency": settings.concurrency,
        "backend": backend,
        "seed": settings.seed,
        "created_at": time.time(),
    }


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_state(directory: Path) -> dict[str, Any]:
    return read_json(directory / STATE_JSON) or {}


def write_state(directory: Path, **changes: Any) -> None:
    """Merge `changes` into state.json (under the sweep's state lock: two managers)."""
    with _locked(directory / ".state.lock"):
        state = read_state(directory)
        state.update(changes)
        write_json_atomic(directory / STATE_JSON, state)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def driver_alive(directory: Path) -> bool:
    """Whether a driver holds the sweep's lock (a lock probe: a dead driver holds none)."""
    try:
        fd = os.open(directory / DRIVER_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def wait_for_driver_exit(directory: Path, timeout_s: float = 30.0) -> None:
    """Until the sweep's driver has let go of its lock (it checks state.json every loop)."""
    deadline = time.monotonic() + timeout_s
    while driver_alive(directory) and time.monotonic() < deadline:
        time.sleep(0.1)


def needs_driver(directory: Path) -> bool:
    """A search sweep not finished, not stopped, and with no live driver."""
    if not (directory / SWEEP_JSON).is_file():
        return False
    state = read_state(directory)
    if state.get("finished_at") or state.get("stopped_at"):
        return False
    return not driver_alive(directory)


def driver_command(python: str, recipe_module: str, runs_dir: Path, sweep_id: str) -> list[str]:
    return [
        python,
        "-m",
        "autotrain_tui.core.sweep_detach",  # forks at once, then runs core.sweep_driver
        str(runs_dir.resolve()),
        sweep_id,
        "--recipe-module",
        recipe_module,
    ]


def start_driver(python: str, recipe_module: str, runs_dir: Path, sweep_id: str) -> None:
    """Start the sweep's detached driver; returns once it has detached (it forks before it
    imports optuna, so a manager waits only for a bare interpreter's start)."""
    from autotrain_tui.core.launcher import spawn_session

    directory = sweep_dir(runs_dir, sweep_id)
    command = driver_command(python, recipe_module, runs_dir, sweep_id)
    proc = spawn_session(command, directory / DRIVER_LOG, cwd=str(runs_dir.parent))
    if proc.wait(timeout=60) != 0:
        raise ManagerError(f"the sweep driver did not start; see {directory / DRIVER_LOG}")


def ensure_drivers(python: str, recipe_module: str, runs_dir: Path) -> list[str]:
    """Start a driver for every search sweep that needs one; the ids of those started."""
    try:
        names = os.listdir(runs_dir / SWEEPS_DIR)
    except OSError:
        return []
    started = []
    for name in sorted(names):
        directory = runs_dir / SWEEPS_DIR / name
        if needs_driver(directory):
            try:
                start_driver(python, recipe_module, runs_dir, name)
            except (ManagerError, OSError):
                continue  # a listing never fails for a sweep's sake; driver.log says why
            started.append(name)
    return started


def create(
    runs_dir: Path,
    sweep_id: str,
    sweep: dict[str, Any],
    config_text: str,
    python: str,
    recipe_module: str,
) -> Path:
    """Write the new sweep's directory and start its driver."""
    directory = sweep_dir(runs_dir, sweep_id)
    directory.mkdir(parents=True, exist_ok=False)
    write_atomic(directory / CONFIG_YAML, config_text)
    write_json_atomic(directory / SWEEP_JSON, sweep)
    write_json_atomic(directory / STATE_JSON, {"stopped_at": None, "finished_at": None})
    start_driver(python, recipe_module, runs_dir, sweep_id)
    return directory


def ids(runs_dir: Path) -> list[str]:
    """The ids of the search sweeps under runs/.sweeps/."""
    try:
        names = os.listdir(runs_dir / SWEEPS_DIR)
    except OSError:
        return []
    return sorted(n for n in names if (runs_dir / SWEEPS_DIR / n / SWEEP_JSON).is_file())


def is_search_sweep(runs_dir: Path, sweep_id: str) -> bool:
    return (sweep_dir(runs_dir, sweep_id) / SWEEP_JSON).is_file()


def max_epochs_of(config_text: str) -> int | None:
    """`trainer.max_epochs` of a config as launched (the pruner's largest resource)."""
    from ruamel.yaml import YAML

    try:
        data: Any = YAML(typ="safe").load(config_text)
        value = data["trainer"]["max_epochs"]
    except Exception:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fixed_and_params(fixed: Sequence[str], params: dict[str, str]) -> list[str]:
    """A trial's overrides: the fixed ones, then the sampled `key=value`s."""
    return [*fixed, *(f"{k}={v}" for k, v in params.items())]


def start(
    project: Project,
    config: Path | str,
    overrides: Sequence[str],
    settings: SweepSettings,
    *,
    gpus: int | None = None,
    slurm: bool = False,
) -> str:
    """Validate a search sweep (its items, its settings, and one `recipe check` of the
    space's corners), write `runs/.sweeps/<id>/` and start its driver; the new sweep's id."""
    from autotrain_tui.core import launcher

    space = parse_space(overrides)
    settings.check()
    path = project._config_path(config)
    points = space.check_points()
    _, text, _ = project._prepare(path, points[0], gpus, check=False, slurm=slurm)
    python, module = project.python, project.recipe_module
    launcher.check_config(python, module, project.root, path, (), grid=points)
    sweep_id = new_sweep_id(path.stem)
    sweep = definition(
        sweep_id,
        launcher.display_path(path, project.root),
        space,
        settings,
        max_epochs=max_epochs_of(text),
        backend="slurm" if slurm else "local",
    )
    if gpus is not None:
        sweep["gpus"] = gpus
    base = project._with_overrides(path, ())  # a trial started later ignores later edits
    create(project.runs_dir, sweep_id, sweep, base, project.python, project.recipe_module)
    return sweep_id


def launch_trial(
    project: Project, sweep: dict[str, Any], number: int, params: dict[str, str]
) -> RunRecord:
    """Create trial `number`'s run (fixed overrides + its params, `trial` in run.json) and
    hand it to the queue, or to SLURM, like any run."""
    from autotrain_tui.core import launcher

    slurm = sweep.get("backend") == "slurm"
    overrides = fixed_and_params(sweep.get("overrides") or [], params)
    path = project.root / str(sweep["config"])  # named in run.json; the text is the sweep's
    base = (sweep_dir(project.runs_dir, str(sweep["id"])) / CONFIG_YAML).read_text("utf-8")
    text = launcher.apply_overrides(project.recipe_module, base, overrides)
    project._require_trust("launching", path, [text])
    wanted = 0
    if not slurm:
        count = project.inventory.gpu_count()
        gpus = sweep.get("gpus")
        wanted = gpus if isinstance(gpus, int) else launcher.requested_gpus(text, count)
        if wanted > count:
            raise ManagerError(f"{path.name} asks for {wanted} GPU(s); this machine has {count}")
    record = launcher.create_run(
        project.root,
        project.runs_dir,
        path,
        text,
        overrides,
        python=project.python,
        recipe_module=project.recipe_module,
        gpus_requested=wanted,
        sweep=str(sweep["id"]),
        backend="slurm" if slurm else "local",
        trial={"number": number, "params": params},
    )
    if slurm:
        return project._submit([record], [text], str(sweep["id"]))[0]
    project.advance_queue()
    return record


def trial_number(record: RunRecord) -> int | None:
    """The study trial a run is (run.json `trial.number`), or None for any other run."""
    trial = record.extra.get("trial")
    number = trial.get("number") if isinstance(trial, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else None
