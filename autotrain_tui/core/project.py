"""`Project`: the one facade the UI and the CLI use over a project directory.

A project is a directory with `configs/`, `custom.py` and `runs/`. Every user action —
launch, queue, sweep, stop, kill, resume, remove, clone — is a method here, so each one is
scriptable and testable without a screen, and the UI stays a view. Methods raise
`ManagerError` (one readable line) for anything a user can cause.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from autotrain_tui.core import control, launcher, queue, search_sweep
from autotrain_tui.core.config_gate import ConfigGate
from autotrain_tui.core.errors import (
    ManagerError,
    RunIsLiveError,
    writes_project,
)
from autotrain_tui.core.gpus import GpuInventory, default_inventory
from autotrain_tui.core.listing import RunListing, RunProblem, run_json_problem, scan_runs
from autotrain_tui.core.queue import QueueSettings
from autotrain_tui.core.references import resolve_run_name
from autotrain_tui.core.run_files import RunFileActions
from autotrain_tui.core.runs import (
    RunCache,
    RunRecord,
    RunStatus,
    modify_run,
    read_run,
    reconcile,
)
from autotrain_tui.core.slurm import backend as slurm_backend
from autotrain_tui.core.sweep import expand_grid, new_sweep_id
from autotrain_tui.core.sweep_actions import SweepActions, SweepSummary
from autotrain_tui.core.tail import LineTail, MetricsTail

__all__ = ["Project", "QueueSettings", "SweepSummary"]


class Project(ConfigGate, SweepActions, RunFileActions):
    """A project directory and everything a user can do to its runs."""

    def __init__(
        self,
        root: Path | str,
        *,
        python: str = sys.executable,
        recipe_module: str = "recipe",
        inventory: GpuInventory | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ManagerError(f"project directory not found: {root}")
        self.python = python
        self.recipe_module = recipe_module
        self.inventory: GpuInventory = inventory if inventory is not None else default_inventory()
        self._run_cache = RunCache()  # polled listings read only the run.json files that changed

    @property
    def configs_dir(self) -> Path:
        return self.root / "configs"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def custom_py(self) -> Path:
        return self.root / "custom.py"

    # ---- reading ---------------------------------------------------------------------------

    def list_configs(self) -> list[Path]:
        """The YAML files under `configs/`, sorted by name."""
        if not self.configs_dir.is_dir():
            return []
        return sorted(p for p in self.configs_dir.iterdir() if p.suffix in (".yaml", ".yml"))

    def list_runs(
        self, status: RunStatus | Iterable[RunStatus] | None = None, sweep: str | None = None
    ) -> list[RunRecord]:
        """All runs, newest first, dead `running` ones reconciled to `lost` on the way."""
        return self.scan_runs(status, sweep).records

    def scan_runs(
        self, status: RunStatus | Iterable[RunStatus] | None = None, sweep: str | None = None
    ) -> RunListing:
        """`list_runs`, and beside the records a problem line for every entry of `runs/` that
        could not be listed as it should (damaged run.json, duplicate ids, links), so a
        caller can show what is wrong instead of silently showing less."""
        # A search sweep whose driver died (no lock holder) gets a new one: a stat and a lock
        # probe per unfinished sweep, no optuna here.
        search_sweep.ensure_drivers(self.python, self.recipe_module, self.runs_dir)
        listing = scan_runs(self.runs_dir, cache=self._run_cache)
        records = listing.records
        if status is not None:
            wanted = {status} if isinstance(status, RunStatus) else set(status)
            records = [r for r in records if r.status in wanted]
        if sweep is not None:
            records = [r for r in records if r.sweep == sweep]
        problems = listing.problems
        settings_problem = queue.read_settings_checked(self.runs_dir)[1]
        if settings_problem is not None:
            problems = [*problems, RunProblem(queue.QUEUE_SETTINGS, settings_problem)]
        return RunListing(records, problems)

    def get_run(self, ref: str) -> RunRecord:
        """The run `ref` names (see `resolve_run_id`); a damaged one is a ManagerError naming
        its file and the fix."""
        name = self.resolve_run_id(ref)
        try:
            record = read_run(self.runs_dir / name)
        except (OSError, ValueError) as error:
            raise ManagerError(run_json_problem(self.runs_dir, name, error)) from error
        try:
            return reconcile(record)
        except OSError:
            return record  # a read-only runs/: the record as it was last written

    def resolve_run_id(self, ref: str) -> str:
        """The name of the run directory `ref` names (see `references.resolve_run_name`):
        an entry of `runs/`, a unique part of one, or `latest`; never a path."""
        return resolve_run_name(self.runs_dir, ref, self.list_runs)

    def log_tail(self, ref: str) -> LineTail:
        """An incremental reader of the run's `stdout.log`, from its start."""
        return LineTail(self.get_run(ref).stdout_log)

    def metrics_tail(self, ref: str) -> MetricsTail:
        """An incremental reader of the run's `metrics.jsonl` events, from its start."""
        return MetricsTail(self.get_run(ref).metrics_jsonl)

    # ---- launching -------------------------------------------------------------------------

    def _prepare(
        self,
        config: Path | str,
        overrides: Sequence[str],
        gpus: int | None,
        check: bool = True,
        slurm: bool = False,
    ) -> tuple[Path, str, int]:
        path = self._config_path(config)
        for item in overrides:
            if "=" not in item:
                raise ManagerError(f"not an override (expected key=value): {item!r}")
        text = self._with_overrides(path, overrides)
        self._require_trust("launching", path, [text])
        if check:
            launcher.check_config(self.python, self.recipe_module, self.root, path, overrides)
        if slurm:  # the cluster's GPUs, not this machine's: SLURM places the job
            return path, text, 0
        count = self.inventory.gpu_count()
        wanted = gpus if gpus is not None else launcher.requested_gpus(text, count)
        if wanted < 0:
            raise ManagerError(f"the number of GPUs cannot be negative ({wanted})")
        if wanted > count:
            raise ManagerError(f"{path.name} asks for {wanted} GPU(s); this machine has {count}")
        return path, text, wanted

    def _start(self, record: RunRecord) -> None:
        launcher.spawn_supervisor(record, self.python)

    @writes_project
    def launch(
        self,
        config: Path | str,
        overrides: Sequence[str] = (),
        *,
        queue: bool = False,
        gpus: int | None = None,
        check: bool = True,
        slurm: bool = False,
    ) -> RunRecord:
        """Validate, create the run and start it now — or, with `queue`, when it fits.

        Without `queue` the run starts at once (past the concurrency limit, which governs the
        queue) or raises ManagerError when its GPUs are not free; nothing is left behind then.
        `gpus` overrides the count read from `trainer.devices`. `check=False` skips the
        `recipe check` for a caller that has just checked these exact files (the UI's
        editor); the recipe still validates as it starts. With `slurm` the run is submitted
        to the cluster (its config's `slurm:` section) instead.
        """
        path, text, wanted = self._prepare(config, overrides, gpus, check=check, slurm=slurm)
        record = launcher.create_run(
            self.root,
            self.runs_dir,
            path,
            text,
            overrides,
            python=self.python,
            recipe_module=self.recipe_module,
            gpus_requested=wanted,
            backend="slurm" if slurm else "local",
        )
        if slurm:
            return self._submit([record], [text], record.id)[0]
        if queue:
            self.advance_queue()
            return read_run(record.run_dir)
        try:
            return queue_start_now(self, record)
        except ManagerError:
            current = read_run(record.run_dir)
            if current.status is RunStatus.QUEUED:
                shutil.rmtree(record.run_dir, ignore_errors=True)
            raise

    @writes_project
    def sweep(
        self,
        config: Path | str,
        overrides: Sequence[str],
        *,
        gpus: int | None = None,
        slurm: bool = False,
    ) -> SweepSummary:
        """Queue the grid of runs the override lists describe, under one new sweep id
        (with `slurm`: submit them as one job array)."""
        points = expand_grid(overrides)
        if len(points) < 2 and not any("," in o for o in overrides):
            raise ManagerError("a sweep needs at least one override with several values (k=a,b)")
        path = self._config_path(config)
        prepared = [self._prepare(path, p, gpus, check=False, slurm=slurm) for p in points]
        # One `recipe check` for the whole grid: torch and custom.py load once, not per point.
        launcher.check_config(self.python, self.recipe_module, self.root, path, (), grid=points)
        sweep_id = new_sweep_id(path.stem)
        created = []
        for point, (_, text, wanted) in zip(points, prepared, strict=True):
            record = launcher.create_run(
                self.root,
                self.runs_dir,
                path,
                text,
                point,
                python=self.python,
                recipe_module=self.recipe_module,
                gpus_requested=wanted,
                sweep=sweep_id,
                backend="slurm" if slurm else "local",
            )
            created.append(record)
        if slurm:  # one job array per set of resources (usually one for the whole grid)
            self._submit(created, [text for _, text, _ in prepared], sweep_id)
        else:
            self.advance_queue()
        return self.get_sweep(sweep_id)

    def _submit(self, records: list[RunRecord], texts: list[str], job_name: str) -> list[RunRecord]:
        """Submit new runs to SLURM; the runs are removed if the cluster refuses them."""
        try:
            return slurm_backend.submit_grouped(
                records,
                texts,
                python=self.python,
                recipe_module=self.recipe_module,
                env=launcher.child_env(),
                job_name=job_name,
            )
        except BaseException:
            slurm_backend.remove_unsubmitted(records)
            raise

    def advance_queue(self) -> list[RunRecord]:
        """Start the queued runs that fit now; every manager calls this when it starts."""
        return queue.advance_queue(self.runs_dir, self.inventory, self._start, self._run_cache)

    @writes_project
    def move_to_front(self, ref: str) -> RunRecord:
        """Make a queued run the next one to start."""
        record = self.get_run(ref)  # a damaged record is named here, with its fix
        return queue.move_to_front(self.runs_dir, record.id)

    @property
    def queue_settings(self) -> QueueSettings:
        return queue.read_settings(self.runs_dir)

    @writes_project
    def set_queue_settings(self, settings: QueueSettings) -> list[RunRecord]:
        """Save the queue's limits; a higher limit may start runs, which are returned."""
        queue.write_settings(self.runs_dir, settings)
        return self.advance_queue()

    # ---- control ---------------------------------------------------------------------------

    def stop(
        self, ref: str, *, grace_s: float = control.DEFAULT_GRACE_S, wait: bool = False
    ) -> RunRecord:
        """SIGTERM to the run's group (the recipe checkpoints, exits `stopped`), SIGKILL after
        `grace_s`. A queued run becomes `stopped` at once. With `wait`, returns once the run
        has ended and no process of its group is left."""
        return self._stop(self.get_run(ref), kill=False, grace_s=grace_s, wait=wait)

    def kill(self, ref: str, *, wait: bool = True) -> RunRecord:
        """SIGKILL to the run's whole group at once; recorded as `stopped`."""
        return self._stop(self.get_run(ref), kill=True, grace_s=0.0, wait=wait)

    def _stop(self, record: RunRecord, *, kill: bool, grace_s: float, wait: bool) -> RunRecord:
        if record.backend == "slurm" and record.status is RunStatus.RUNNING:
            record = slurm_backend.request_stop(record, grace_s=grace_s, kill=kill)
            settle = (0.0 if kill else grace_s) + control.SETTLE_S
            return slurm_backend.wait_until_over(record.run_dir, settle) if wait else record
        if wait:
            result = control.stop_and_wait(self.runs_dir, record, grace_s=grace_s, kill=kill)
            self.advance_queue()
            return result
        request = control.request_stop(self.runs_dir, record, grace_s=grace_s, kill=kill)
        if request.caller_escalates:
            control.escalate_later(request.record, grace_s)
        if request.record.status is RunStatus.STOPPED:
            self.advance_queue()
        return request.record

    @writes_project
    def resume(self, ref: str, *, queue: bool = False) -> RunRecord:
        """Continue a stopped, failed or lost run in its own directory from `last.ckpt`.

        Like `launch`: starts now (or raises when its GPUs are not free, leaving the run as
        it was), or with `queue` waits its turn. A run that never started is simply requeued.
        """
        record = self.get_run(ref)
        self._require_resume_trust(record)
        if record.backend == "slurm":
            self._check_resumable(record)
            return slurm_backend.resume(
                record,
                python=self.python,
                recipe_module=self.recipe_module,
                env=launcher.child_env(),
            )
        previous = record
        record = self._requeue_for_resume(record)
        if queue:
            self.advance_queue()
            return read_run(record.run_dir)
        try:
            return queue_start_now(self, record)
        except ManagerError:

            def restore(cur: RunRecord) -> RunRecord | None:
                return previous if cur.status is RunStatus.QUEUED else None

            modify_run(record.run_dir, restore)
            raise

    @staticmethod
    def _check_resumable(record: RunRecord) -> None:
        if record.is_live:
            raise RunIsLiveError(f"run {record.id} is {record.status.value}; nothing to resume")
        if record.status is RunStatus.COMPLETED:
            raise ManagerError(f"run {record.id} completed; there is nothing to resume")

    def _requeue_for_resume(self, record: RunRecord) -> RunRecord:
        self._check_resumable(record)
        # A run whose resume was stopped while queued has no start of its own (started_at is
        # None) but is still a resume.
        if record.started_at is not None or record.resumes:
            if not record.last_checkpoint.is_file():
                raise ManagerError(f"run {record.id} has no checkpoints/last.ckpt to resume from")
            run_rel = launcher.display_path(record.run_dir, self.root)
            command = tuple(launcher.resume_command(self.python, self.recipe_module, run_rel))
            resumes = record.resumes + (1 if record.started_at is not None else 0)
        else:
            command, resumes = record.command, record.resumes
        now = time.time()

        def requeue(cur: RunRecord) -> RunRecord | None:
            if cur.is_live:
                raise RunIsLiveError(f"run {cur.id} is {cur.status.value}; nothing to resume")
            return cur.replace(
                status=RunStatus.QUEUED,
                command=command,
                resumes=resumes,
                queue_order=now,
                # The attempt that ended is added to the time run so far; the next one
                # starts its own clock when it starts (elapsed_s continues the count).
                elapsed_before_s=cur.elapsed_s(now) or 0.0,
                started_at=None,
                exit_code=None,
                ended_at=None,
                reason=None,
                stop_requested=None,
                stop_requested_at=None,
                stop_grace_s=None,
            )

        return modify_run(record.run_dir, requeue)


def queue_start_now(project: Project, record: RunRecord) -> RunRecord:
    """Start `record` now through the queue's lock (GPUs never double-assigned)."""
    return queue.start_now(project.runs_dir, project.inventory, record, project._start)
