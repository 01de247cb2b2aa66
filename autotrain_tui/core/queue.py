"""The GPU queue: no daemon, just a locked ledger that whoever changes capacity advances.

A queued run is a run directory in status `queued`; nothing sleeps in memory waiting for it.
Every actor that changes capacity — a launch, a supervisor whose run just ended, a manager
that starts — calls `advance_queue`, which takes `runs/.queue.lock` (fcntl), rebuilds the
ledger `runs/.gpu-ledger.json` from the runs that are really alive (so a crash anywhere never
leaks a GPU for good), and starts the queued runs that now fit, oldest first. Because the
whole decide-and-start happens under one file lock, two managers in two terminals never hand
out the same GPU.

Order is strict FIFO by `queue_order` (move-to-front gives a run the smallest one): when the
head of the queue does not fit, nothing behind it starts, so a run asking for many GPUs is
not starved by a stream of small ones.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from autotrain_tui.core import identity
from autotrain_tui.core.atomic import write_json_atomic
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.gpus import GpuInventory
from autotrain_tui.core.runs import (
    RunCache,
    RunRecord,
    RunStatus,
    list_runs,
    modify_run,
    read_run,
)

QUEUE_LOCK = ".queue.lock"
GPU_LEDGER = ".gpu-ledger.json"
QUEUE_SETTINGS = ".queue.json"

StartRun = Callable[[RunRecord], None]

# Whether this thread holds the queue lock: a run reconciled while the queue is being
# advanced (its listing reconciles) must not advance it again from inside (flock would wait
# on our own lock for ever), and need not, as the advance in progress sees the freed slot.
_held = threading.local()


@dataclass(frozen=True)
class QueueSettings:
    """Limits the queue applies; stored in `runs/.queue.json` so every process sees them."""

    # Most runs at once. None: one per GPU, or one on a machine without GPUs.
    max_concurrent: int | None = None
    # A GPU no run of ours holds counts as taken when anyone uses more than this much memory.
    outside_memory_threshold_mib: float = 1024.0

    def concurrency_limit(self, gpu_count: int) -> int:
        if self.max_concurrent is not None:
            return self.max_concurrent
        return max(1, gpu_count)


@dataclass(frozen=True)
class Placement:
    """A decision of `plan_starts`: start `run` on `gpus`."""

    run: RunRecord
    gpus: tuple[int, ...]


@contextlib.contextmanager
def queue_lock(runs_dir: Path) -> Iterator[None]:
    """The one lock over the ledger and every queued→running transition."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(runs_dir / QUEUE_LOCK, os.O_RDWR | os.O_CREAT, 0o666)  # the umask decides
    outer = getattr(_held, "depth", 0)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _held.depth = outer + 1
        yield
    finally:
        _held.depth = outer
        os.close(fd)


def read_settings(runs_dir: Path) -> QueueSettings:
    """The project's queue settings; the defaults when none were saved or the file is bad
    (`settings_problem` says what is wrong with it)."""
    return read_settings_checked(runs_dir)[0]


def read_settings_checked(runs_dir: Path) -> tuple[QueueSettings, str | None]:
    """The settings in effect, and one line naming what is wrong with `.queue.json` (None
    when nothing is). A bad file never stops the queue silently (`max_concurrent: 0` would
    start nothing, ever) nor makes every command fail: the defaults apply and the problem
    is shown, with the fix, by `runs` and `queue`."""
    path = runs_dir / QUEUE_SETTINGS
    shown = f"{runs_dir.name}/{QUEUE_SETTINGS}"
    fix = "the defaults apply until you fix it (autotrain-tui queue --max-concurrent N rewrites it)"
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return QueueSettings(), None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8"
        return QueueSettings(), f"cannot read {shown} ({reason or error}); {fix}"
    try:
        data = json.loads(raw)
    except ValueError as error:
        return QueueSettings(), f"{shown} is not valid JSON ({error}); {fix}"
    if not isinstance(data, dict):
        return QueueSettings(), f"{shown} must hold a JSON object; {fix}"
    max_concurrent = data.get("max_concurrent")
    threshold = data.get("outside_memory_threshold_mib", 1024.0)
    if max_concurrent is not None and (
        isinstance(max_concurrent, bool)
        or not isinstance(max_concurrent, int)
        or max_concurrent < 1
    ):
        return QueueSettings(), (
            f"{shown}: max_concurrent must be a whole number of at least 1 (or null: one run "
            f"per GPU), not {json.dumps(max_concurrent)} (0 would never start a run); {fix}"
        )
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0:
        return QueueSettings(), (
            f"{shown}: outside_memory_threshold_mib must be a number of MiB, at least 0, not "
            f"{json.dumps(threshold)}; {fix}"
        )
    return QueueSettings(max_concurrent, float(threshold)), None


def write_settings(runs_dir: Path, settings: QueueSettings) -> None:
    if settings.max_concurrent is not None and settings.max_concurrent < 1:
        raise ManagerError(f"max concurrent runs must be at least 1, not {settings.max_concurrent}")
    if settings.outside_memory_threshold_mib < 0:
        raise ManagerError("the outside-memory threshold cannot be negative")
    runs_dir.mkdir(parents=True, exist_ok=True)
    with queue_lock(runs_dir):
        write_json_atomic(runs_dir / QUEUE_SETTINGS, asdict(settings))


def read_ledger(runs_dir: Path) -> dict[str, tuple[int, ...]]:
    """run id → GPUs, as last written (informational; `advance_queue` rebuilds it)."""
    try:
        data = json.loads((runs_dir / GPU_LEDGER).read_text(encoding="utf-8"))
        runs = data.get("runs", {})
        return {str(k): tuple(int(g) for g in v.get("gpus", ())) for k, v in runs.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def _write_ledger(runs_dir: Path, running: Sequence[RunRecord]) -> None:
    payload = {
        "version": 1,
        "updated_at": time.time(),
        "runs": {r.id: {"gpus": list(r.gpus), "started_at": r.started_at} for r in running},
    }
    write_json_atomic(runs_dir / GPU_LEDGER, payload)


def queue_sort_key(record: RunRecord) -> tuple[float, str]:
    return (
        record.queue_order if record.queue_order is not None else record.created_at or 0.0,
        record.id,
    )


def free_gpus(inventory: GpuInventory, assigned: set[int], threshold_mib: float) -> list[int]:
    """GPUs no run of ours holds and nobody outside uses above the threshold."""
    free: list[int] = []
    for index in range(inventory.gpu_count()):
        if index in assigned:
            continue
        used = inventory.memory_used_mib(index)
        if used is None or used > threshold_mib:
            continue
        free.append(index)
    return free


def plan_starts(
    queued: Sequence[RunRecord], free: Sequence[int], running_count: int, limit: int
) -> list[Placement]:
    """Which queued runs start now and on which GPUs: strict FIFO, lowest free GPUs first."""
    placements: list[Placement] = []
    available = sorted(free)
    slots = limit - running_count
    for record in sorted(queued, key=queue_sort_key):
        if slots <= 0 or record.gpus_requested > len(available):
            break
        gpus = tuple(available[: record.gpus_requested])
        available = available[record.gpus_requested :]
        slots -= 1
        placements.append(Placement(record, gpus))
    return placements


def _snapshot(
    runs_dir: Path, cache: RunCache | None = None
) -> tuple[list[RunRecord], list[RunRecord]]:
    records = list_runs(runs_dir, reconcile_dead=True, cache=cache)
    # A SLURM run holds the cluster's resources, not this machine's: not counted here.
    running = [r for r in records if r.status is RunStatus.RUNNING and r.backend == "local"]
    queued = [r for r in records if r.status is RunStatus.QUEUED and r.backend == "local"]
    return running, queued


def _start(
    runs_dir: Path,
    record: RunRecord,
    gpus: tuple[int, ...],
    start: StartRun,
    running: list[RunRecord],
) -> RunRecord | None:
    changed = False

    def to_running(current: RunRecord) -> RunRecord | None:
        nonlocal changed
        if current.status is not RunStatus.QUEUED:
            return None
        changed = True
        return current.replace(
            status=RunStatus.RUNNING,
            gpus=gpus,
            started_at=time.time(),
            started_boot_s=identity.boot_seconds(),
            ended_at=None,
            exit_code=None,
            pid=None,
            pgid=None,
            create_time=None,
            start_ticks=None,
            supervisor_pid=None,
            supervisor_create_time=None,
            supervisor_start_ticks=None,
            boot_id=identity.boot_id(),
            stop_requested=None,
            stop_requested_at=None,
            reason=None,
        )

    updated = modify_run(record.run_dir, to_running)
    if not changed:
        return None
    running.append(updated)
    _write_ledger(runs_dir, running)
    try:
        start(updated)
    except Exception as error:
        running.remove(updated)
        _write_ledger(runs_dir, running)
        reason = f"the supervisor could not start: {error}"
        modify_run(
            record.run_dir,
            lambda cur: cur.replace(status=RunStatus.FAILED, ended_at=time.time(), reason=reason),
        )
        raise ManagerError(f"run {record.id}: {reason}") from error
    # The supervisor has recorded itself by now: hand back the record as it stands.
    return read_run(record.run_dir)


def advance_queue(
    runs_dir: Path, inventory: GpuInventory, start: StartRun, cache: RunCache | None = None
) -> list[RunRecord]:
    """Start every queued run that fits now, in order; return the runs started.

    A `cache` (the UI's, which advances the queue every few polls) only saves reading
    unchanged `run.json` files: each start re-reads its run under the run's lock.
    """
    if not runs_dir.is_dir():
        return []
    settings = read_settings(runs_dir)
    with queue_lock(runs_dir):
        running, queued = _snapshot(runs_dir, cache)
        _write_ledger(runs_dir, running)
        if not queued:  # the usual case: no GPU query (NVML) for nothing to place
            return []
        assigned = {g for r in running for g in r.gpus}
        free = free_gpus(inventory, assigned, settings.outside_memory_threshold_mib)
        limit = settings.concurrency_limit(inventory.gpu_count())
        started: list[RunRecord] = []
        for placement in plan_starts(queued, free, len(running), limit):
            result = _start(runs_dir, placement.run, placement.gpus, start, running)
            if result is not None:
                started.append(result)
        return started


def advance_after_end(runs_dir: Path) -> list[RunRecord]:
    """Advance the queue because a run was just found ended (capacity freed).

    For a manager that reconciles a run whose supervisor died (a listing, a UI poll, a CLI
    command): it starts what now fits, as the supervisor would have on its way out. Never
    raises: a start that fails is recorded on its run as `failed` with the reason.
    """
    if getattr(_held, "depth", 0):
        return []
    # Imported here: a listing that frees no slot (nearly every one) loads neither.
    from autotrain_tui.core.gpus import default_inventory
    from autotrain_tui.core.launcher import spawn_supervisor

    try:
        return advance_queue(runs_dir, default_inventory(), spawn_supervisor)
    except (ManagerError, OSError):
        return []


def start_now(
    runs_dir: Path, inventory: GpuInventory, record: RunRecord, start: StartRun
) -> RunRecord:
    """Start one queued run at once, ahead of the queue and past the concurrency limit.

    Only GPUs are never overcommitted: when too few are free, ManagerError says how many.
    """
    settings = read_settings(runs_dir)
    with queue_lock(runs_dir):
        running, _ = _snapshot(runs_dir)
        assigned = {g for r in running for g in r.gpus}
        free = free_gpus(inventory, assigned, settings.outside_memory_threshold_mib)
        if record.gpus_requested > len(free):
            raise ManagerError(
                f"{record.gpus_requested} GPU(s) asked, {len(free)} free now; "
                "use --queue to wait for them"
            )
        result = _start(runs_dir, record, tuple(free[: record.gpus_requested]), start, running)
        # None: another manager started (or someone stopped) it meanwhile; report as it is.
        return result if result is not None else read_run(record.run_dir)


def move_to_front(runs_dir: Path, run_id: str) -> RunRecord:
    """Make a queued run the next to start."""
    with queue_lock(runs_dir):
        _, queued = _snapshot(runs_dir)
        target = next((r for r in queued if r.id == run_id), None)
        if target is None:
            raise ManagerError(f"run {run_id} is not queued")
        first = min((queue_sort_key(r)[0] for r in queued), default=time.time())
        return modify_run(target.run_dir, lambda cur: cur.replace(queue_order=first - 1.0))


def cancel_queued(runs_dir: Path, record: RunRecord, reason: str) -> RunRecord:
    """Turn a queued run into `stopped` before it ever starts (a no-op once it has started)."""
    with queue_lock(runs_dir):

        def cancel(current: RunRecord) -> RunRecord | None:
            if current.status is not RunStatus.QUEUED:
                return None
            return current.replace(status=RunStatus.STOPPED, ended_at=time.time(), reason=reason)

        return modify_run(record.run_dir, cancel)
