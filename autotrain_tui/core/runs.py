"""Run records: what `run.json` holds, read and written safely, and whether a run is alive.

`run.json` is the one place a run's state lives (docs/run-directory.md). Several processes
write it — the launcher, the run's supervisor, a manager asking for a stop, a manager that
finds the run dead — so every read-modify-write holds a per-run file lock and every write is
atomic. A pid is trusted only together with its start ticks since boot (`identity`), because
pids are reused; never with a wall-clock time, which a clock step moves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autotrain_tui.core import identity
from autotrain_tui.core.atomic import write_json_atomic

# Liveness lives in its own module; callers know these names from here (re-exported).
from autotrain_tui.core.liveness import (  # noqa: F401
    process_matches,
    recipe_alive,
    run_is_alive,
    supervisor_alive,
)
from autotrain_tui.core.run_cache import RunCache
from autotrain_tui.core.slurm.record import SlurmInfo

# 2: start_ticks, supervisor_start_ticks, boot_id, started_boot_s (no wall clock in identity),
# elapsed_before_s. 3: backend and the slurm object (a run on a SLURM cluster).
RUN_DIR_VERSION = 3
RUN_JSON = "run.json"
RUN_LOCK = ".run.lock"
STDOUT_LOG = "stdout.log"
METRICS_JSONL = "metrics.jsonl"
CONFIG_YAML = "config.yaml"
SUPERVISOR_LOG = "supervisor.log"
# Space a supervisor sets aside to record the end on a full disk (see supervisor.py).
SUPERVISOR_RESERVE = ".supervisor.reserve"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


class RunStatus(enum.StrEnum):
    """The lifecycle of a run; the string values are the contract's `status` field."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"
    LOST = "lost"
    # Ended early by its sweep's pruner (successive halving): saved and resumable like a stop.
    PRUNED = "pruned"

    @property
    def is_live(self) -> bool:
        """Queued or running: the run still holds (or waits for) resources."""
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def is_finished(self) -> bool:
        return not self.is_live


@dataclass(frozen=True)
class RunRecord:
    """One run's `run.json`, as a snapshot. Unknown keys ride along in `extra`."""

    id: str
    run_dir: Path
    status: RunStatus
    config: str | None = None
    overrides: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    cwd: str | None = None
    host: str | None = None
    pid: int | None = None
    pgid: int | None = None
    create_time: float | None = None
    start_ticks: int | None = None
    supervisor_pid: int | None = None
    supervisor_create_time: float | None = None
    supervisor_start_ticks: int | None = None
    boot_id: str | None = None
    gpus: tuple[int, ...] = ()
    gpus_requested: int = 0
    sweep: str | None = None
    exit_code: int | None = None
    created_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    started_boot_s: float | None = None
    queue_order: float | None = None
    stop_requested: str | None = None
    stop_requested_at: float | None = None
    stop_grace_s: float | None = None
    resumes: int = 0
    elapsed_before_s: float = 0.0
    reason: str | None = None
    backend: str = "local"  # "local" (the supervisor on this machine) or "slurm"
    slurm: SlurmInfo | None = None  # the job, for backend "slurm" (docs/slurm.md)
    version: int = RUN_DIR_VERSION
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_live(self) -> bool:
        return self.status.is_live

    @property
    def stdout_log(self) -> Path:
        return self.run_dir / STDOUT_LOG

    @property
    def metrics_jsonl(self) -> Path:
        return self.run_dir / METRICS_JSONL

    @property
    def config_yaml(self) -> Path:
        return self.run_dir / CONFIG_YAML

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / LAST_CHECKPOINT

    def elapsed_s(self, now: float) -> float | None:
        """Seconds the run has trained, over every attempt (a resume continues the count).

        `elapsed_before_s` holds the attempts before the current one; the current one runs
        from `started_at` to `ended_at` (or `now`). None for a run that never started.
        """
        if self.status is RunStatus.QUEUED or self.started_at is None:
            return self.elapsed_before_s if self.resumes or self.elapsed_before_s else None
        end = self.ended_at if self.ended_at is not None else now
        return self.elapsed_before_s + max(0.0, end - self.started_at)

    def replace(self, **changes: Any) -> RunRecord:
        """A copy with `changes` applied (the record itself is frozen)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The `run.json` object: contract fields first, then any unknown keys kept as read."""
        # A record written by this version holds this version's fields.
        out: dict[str, Any] = {"version": max(self.version, RUN_DIR_VERSION), "id": self.id}
        for spec in dataclasses.fields(self):
            if spec.name in ("id", "version", "run_dir", "extra"):
                continue
            value = getattr(self, spec.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, RunStatus):
                value = value.value
            elif isinstance(value, SlurmInfo):
                value = value.to_json()
            out[spec.name] = value
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], run_dir: Path) -> RunRecord:
        """Build a record from a parsed `run.json`; tolerant of missing and unknown keys."""
        known = _JSON_FIELDS
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        kwargs["id"] = str(data.get("id") or run_dir.name)
        kwargs["status"] = _parse_status(data.get("status"))
        for name in ("overrides", "command"):
            kwargs[name] = tuple(str(x) for x in (data.get(name) or ()))
        kwargs["gpus"] = tuple(int(x) for x in (data.get("gpus") or ()))
        kwargs["gpus_requested"] = int(data.get("gpus_requested") or 0)
        kwargs["resumes"] = int(data.get("resumes") or 0)
        kwargs["elapsed_before_s"] = float(data.get("elapsed_before_s") or 0.0)
        kwargs["backend"] = str(data.get("backend") or "local")
        kwargs["slurm"] = SlurmInfo.from_json(data.get("slurm"))
        return cls(run_dir=run_dir, extra=extra, **kwargs)


_JSON_FIELDS = frozenset(spec.name for spec in dataclasses.fields(RunRecord)) - {"run_dir", "extra"}


def _parse_status(value: Any) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        # A status this version does not know (a newer writer): nothing here can act on it.
        return RunStatus.LOST


_INT_FIELDS = ("pid", "pgid", "supervisor_pid", "exit_code", "gpus_requested", "resumes", "version")
_NUMBER_FIELDS = (
    "create_time",
    "supervisor_create_time",
    "created_at",
    "started_at",
    "ended_at",
    "queue_order",
    "stop_requested_at",
    "stop_grace_s",
)
_STR_FIELDS = (
    "id",
    "status",
    "config",
    "cwd",
    "host",
    "sweep",
    "stop_requested",
    "reason",
    "backend",
)
_LIST_FIELDS = ("overrides", "command", "gpus")


def _type_problem(data: dict[str, Any]) -> str | None:
    """The first field of a parsed `run.json` whose type is wrong (a hand edit, another
    tool's file), named, so a reader fails with that line instead of a TypeError later."""
    for name in _INT_FIELDS:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return f"'{name}' should be a whole number, not {json.dumps(value)[:40]}"
    for name in _NUMBER_FIELDS:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"'{name}' should be a number, not {json.dumps(value)[:40]}"
    for name in _STR_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            return f"'{name}' should be a string, not {json.dumps(value)[:40]}"
    for name in _LIST_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, list):
            return f"'{name}' should be a list, not {json.dumps(value)[:40]}"
    gpus = data.get("gpus") or []
    if any(isinstance(g, bool) or not isinstance(g, int) for g in gpus):
        return f"'gpus' should list GPU indices, not {json.dumps(gpus)[:40]}"
    return None


def read_run(run_dir: Path) -> RunRecord:
    """Read `run_dir/run.json`. Raises FileNotFoundError, or ValueError for a damaged file
    (its message names what is wrong: truncated, not JSON, a field of the wrong type)."""
    # os-level calls, not pathlib's: listing 1,000 runs spends a third of its time here.
    with open(os.path.join(run_dir, RUN_JSON), "rb") as handle:
        raw = handle.read()
    try:
        data = json.loads(raw)
    except ValueError as error:
        what = "empty" if not raw.strip() else f"not valid JSON ({error})"
        raise ValueError(what) from error
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object but {type(data).__name__}")
    problem = _type_problem(data)
    if problem is not None:
        raise ValueError(problem)
    return RunRecord.from_json(data, run_dir)  # ValueError for a damaged `slurm` object


def write_run(record: RunRecord) -> None:
    """Write `record` to its `run.json` atomically. Callers that modify hold `run_lock`."""
    write_json_atomic(record.run_dir / RUN_JSON, record.to_json())


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Exclusive lock over one run's `run.json` for a read-modify-write."""
    fd = os.open(run_dir / RUN_LOCK, os.O_RDWR | os.O_CREAT, 0o666)  # the umask decides
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def modify_run(run_dir: Path, change: Callable[[RunRecord], RunRecord | None]) -> RunRecord:
    """Apply `change` to the current record under the run lock; None from it means no write.

    Returns the record as it stands afterwards. This is how two writers (a supervisor
    finishing, a manager asking for a stop) never lose each other's fields.
    """
    with run_lock(run_dir):
        current = read_run(run_dir)
        updated = change(current)
        if updated is None:
            return current
        write_run(updated)
        return updated


def _remember_ticks(record: RunRecord) -> RunRecord:
    """Add start ticks to a live record that has only `create_time` (an older writer).

    Found alive once by its wall-clock start time, from now on it is known by its ticks, so
    a later clock step cannot make it look dead. Best effort: a read-only project keeps the
    old fields (and the old clock-dependent check).
    """
    missing_recipe = record.pid is not None and record.start_ticks is None
    missing_supervisor = record.supervisor_pid is not None and record.supervisor_start_ticks is None
    if not (missing_recipe or missing_supervisor):
        return record

    def add(current: RunRecord) -> RunRecord | None:
        changes: dict[str, Any] = {}
        if current.start_ticks is None and current.pid is not None and recipe_alive(current):
            changes["start_ticks"] = identity.start_ticks(current.pid)
        if (
            current.supervisor_start_ticks is None
            and current.supervisor_pid is not None
            and supervisor_alive(current)
        ):
            changes["supervisor_start_ticks"] = identity.start_ticks(current.supervisor_pid)
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            return None
        return current.replace(boot_id=identity.boot_id(), **changes)

    try:
        return modify_run(record.run_dir, add)
    except (OSError, ValueError):
        return record


def reconcile(record: RunRecord) -> RunRecord:
    """Record the end of a `running` run whose processes are all gone, and return it.

    Nobody recorded that end (the supervisor died), so it is taken from the run directory's
    own evidence (`outcome.outcome_of`): the recipe's end event, a stop that was asked for;
    `lost` only when there is none. The check is repeated under the run lock, so a
    supervisor that writes the final status at the same moment wins. A run that ends here
    freed its slot: the queue is advanced, as its supervisor would have done.
    """
    if record.backend == "slurm":  # no pid to check: the job's state in squeue decides
        from autotrain_tui.core.slurm.state import reconcile_slurm

        return reconcile_slurm(record)
    if record.status is not RunStatus.RUNNING:
        return record
    if run_is_alive(record):
        return _remember_ticks(record)
    from autotrain_tui.core.outcome import outcome_of  # it reads records: no import cycle

    ended = False

    def record_end(current: RunRecord) -> RunRecord | None:
        nonlocal ended
        if current.status is not RunStatus.RUNNING or run_is_alive(current):
            return None
        found = outcome_of(current)
        ended = True
        return current.replace(
            status=found.status,
            exit_code=found.exit_code,
            ended_at=time.time(),
            reason=found.reason,
        )

    try:
        result = modify_run(record.run_dir, record_end)
    except (FileNotFoundError, ValueError):
        # Removed or damaged meanwhile: the listing names it. Any other OSError (a full or
        # read-only disk) reaches the caller, which says why the record stays stale.
        return record
    if ended:
        # The supervisor is gone: the space it set aside is nobody's now.
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(record.run_dir, SUPERVISOR_RESERVE))
        from autotrain_tui.core.queue import advance_after_end  # queue builds on this module

        # The end is recorded; a queue that cannot move now (a full disk) moves at the next
        # manager's step, which reports its own errors.
        with contextlib.suppress(OSError):
            advance_after_end(record.run_dir.parent)
    return result


def list_runs(
    runs_dir: Path, *, reconcile_dead: bool = True, cache: RunCache | None = None
) -> list[RunRecord]:
    """The runs `listing.scan_runs` can read, newest first, without its problem lines."""
    from autotrain_tui.core.listing import scan_runs  # it builds on this module

    return scan_runs(runs_dir, reconcile_dead=reconcile_dead, cache=cache).records
