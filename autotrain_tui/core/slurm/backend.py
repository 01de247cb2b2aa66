"""Submitting, stopping and resuming runs on SLURM: what `Project` does for `--slurm`.

A SLURM run is created like a local one (`launcher.create_run`: config, code snapshot, a
`queued` record) with `backend: slurm`, which the local queue never starts; then its batch
script is written into the run directory and submitted, and the record becomes `running`
with the job id. A submission that fails removes the run directory: nothing half-made is
listed. A sweep is one job array, a task per run.

Stop is the recipe's own stop: SIGTERM to the job's steps (`scancel --signal=TERM`, which
leaves the batch shell alive to write `exit_code`), then a full cancel when the grace period
is over, sent by a small detached process (`escalate`), so it happens even when the UI is
closed right after. Kill cancels at once. A pending job has nothing to checkpoint: it is
cancelled. Resume submits a new job over the same directory, from `last.ckpt`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autotrain_tui.core.atomic import write_atomic
from autotrain_tui.core.control import stop_mark
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.launcher import spawn_session
from autotrain_tui.core.runs import SUPERVISOR_LOG, RunRecord, RunStatus, modify_run, read_run
from autotrain_tui.core.slurm import commands
from autotrain_tui.core.slurm.record import SlurmInfo
from autotrain_tui.core.slurm.script import (
    EXIT_CODE_FILE,
    JOB_SCRIPT,
    SlurmOptions,
    batch_script,
    options_from,
)
from autotrain_tui.core.slurm.state import POLLER, reconcile_slurm

BACKEND = "slurm"


def options_for(config_text: str, recipe_module: str) -> SlurmOptions:
    """The job's resources from the run's config text (already checked by the recipe), as
    the recipe's torch-free `config.slurm_options` reads them."""
    from ruamel.yaml import YAML  # only when submitting: keeps the UI's start-up light

    try:
        slurm_options = importlib.import_module(f"{recipe_module}.config").slurm_options
    except (ImportError, AttributeError) as error:
        raise ManagerError(
            f"{recipe_module}.config.slurm_options is unavailable: this recipe cannot "
            f"describe a SLURM job ({error})"
        ) from error
    try:
        data: Any = YAML(typ="safe").load(config_text)
        return options_from(slurm_options(data if isinstance(data, dict) else {}))
    except Exception as error:  # validated before; a race with an edit at worst
        raise ManagerError(f"cannot read the config's slurm section: {error}") from error


def _pythonpath(env: dict[str, str]) -> str | None:
    return env.get("PYTHONPATH") or None


def submit(
    records: Sequence[RunRecord],
    config_text: str,
    *,
    python: str,
    recipe_module: str,
    env: dict[str, str],
    job_name: str,
    resume: bool = False,
) -> list[RunRecord]:
    """Write the batch script and submit it: one job, or a job array over a sweep's runs.

    Returns the records as they stand after (`running`, with their job ids). Raises
    ManagerError with sbatch's own message when the cluster refuses the job; the records
    are left as they were (the caller removes runs it just created).
    """
    if not records:
        return []
    problem = commands.available()
    if problem is not None:
        raise ManagerError(problem)
    options = options_for(config_text, recipe_module)
    run_dirs = [str(r.run_dir.resolve()) for r in records]
    cwd = records[0].cwd or str(Path.cwd())
    text = batch_script(
        job_name=job_name,
        run_dirs=run_dirs,
        options=options,
        python=python,
        recipe_module=recipe_module,
        cwd=cwd,
        pythonpath=_pythonpath(env),
        resume=resume,
    )
    for record in records:
        write_atomic(record.run_dir / JOB_SCRIPT, text)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(record.run_dir / EXIT_CODE_FILE)  # an earlier job's
    job_id = commands.sbatch(str(records[0].run_dir.resolve() / JOB_SCRIPT), cwd, env)
    cluster = commands.cluster_name()
    POLLER.forget()
    now = time.time()
    submitted = []
    for index, record in enumerate(records):
        this_job = job_id if len(records) == 1 else f"{job_id}_{index}"
        submitted.append(modify_run(record.run_dir, _to_running(this_job, cluster, now)))
    return submitted


def submit_grouped(
    records: Sequence[RunRecord],
    config_texts: Sequence[str],
    *,
    python: str,
    recipe_module: str,
    env: dict[str, str],
    job_name: str,
) -> list[RunRecord]:
    """New runs submitted as few jobs as possible: one job array per set of resources (a
    sweep over the learning rate is one array; one over trainer.devices is one per count)."""
    groups: dict[SlurmOptions, list[tuple[RunRecord, str]]] = {}
    for record, text in zip(records, config_texts, strict=True):
        groups.setdefault(options_for(text, recipe_module), []).append((record, text))
    submitted: list[RunRecord] = []
    for members in groups.values():
        submitted += submit(
            [record for record, _ in members],
            members[0][1],
            python=python,
            recipe_module=recipe_module,
            env=env,
            job_name=job_name,
        )
    return submitted


def _to_running(job_id: str, cluster: str | None, now: float) -> Any:
    def change(current: RunRecord) -> RunRecord:
        previous = current.slurm.jobs if current.slurm else ()
        return current.replace(
            status=RunStatus.RUNNING,
            backend=BACKEND,
            started_at=now,
            ended_at=None,
            exit_code=None,
            reason=None,
            stop_requested=None,
            stop_requested_at=None,
            stop_grace_s=None,
            slurm=SlurmInfo(job_id=job_id, jobs=(*previous, job_id), cluster=cluster),
        )

    return change


def resume(record: RunRecord, *, python: str, recipe_module: str, env: dict[str, str]) -> RunRecord:
    """Submit a new job that continues a stopped, failed or lost SLURM run from last.ckpt.

    A run that never began training (cancelled while pending: no metrics.jsonl) starts
    afresh from its config instead."""
    fresh = not record.last_checkpoint.is_file()
    if fresh and record.metrics_jsonl.exists():
        raise ManagerError(f"run {record.id} has no checkpoints/last.ckpt to resume from")
    now = time.time()
    before = record.elapsed_s(now) or 0.0
    config_text = record.config_yaml.read_text(encoding="utf-8")
    [result] = submit(
        [record],
        config_text,
        python=python,
        recipe_module=recipe_module,
        env=env,
        job_name=record.id,
        resume=not fresh,
    )

    def count(current: RunRecord) -> RunRecord:
        return current.replace(resumes=record.resumes + 1, elapsed_before_s=before)

    return modify_run(result.run_dir, count)


def request_stop(record: RunRecord, *, grace_s: float, kill: bool) -> RunRecord:
    """Record the stop (or kill) and signal the job; a full cancel follows the grace period."""
    info = record.slurm
    if info is None or info.job_id is None:
        raise ManagerError(f"run {record.id} has no SLURM job to stop")
    job = info.job_id

    record = modify_run(record.run_dir, stop_mark(kill=kill, grace_s=grace_s))
    if record.status is not RunStatus.RUNNING:
        return record
    view = POLLER.snapshot(newer_than_wall=record.stop_requested_at) or None
    state = view.jobs[job].state if view is not None and job in view.jobs else None
    if kill or state in ("PENDING", "REQUEUED", "REQUEUE_HOLD", "SUSPENDED", None):
        # Nothing runs that could save a checkpoint (or we cannot tell): cancel outright.
        if kill and state == "RUNNING":
            commands.scancel(job, signal="KILL", full=True)
        commands.scancel(job)
    else:
        try:
            commands.scancel(job, signal="TERM")
        except ManagerError:
            # Between states (requeued, completing): nothing to checkpoint from, so the
            # stop is a cancel. scancel itself retries such a job for ~100 s first.
            commands.scancel(job)
        else:
            spawn_escalation(record)
    POLLER.forget()
    return record


def spawn_escalation(record: RunRecord) -> None:
    """A detached process that cancels the job when the grace period is over (see escalate).

    Started through `sh -c '… &'` and reaped at once: the escalation is then nobody's child,
    so a long-lived UI that stops many runs keeps no zombie of it."""
    command = [sys.executable, "-m", "autotrain_tui.core.slurm.escalate", str(record.run_dir)]
    shell = ["/bin/sh", "-c", '"$@" &', "escalate", *command]
    spawn_session(shell, record.run_dir / SUPERVISOR_LOG).wait()


def wait_until_over(run_dir: Path, timeout_s: float, poll_s: float = 0.5) -> RunRecord:
    """Reconcile a SLURM run until its end is recorded or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        record = reconcile_slurm(read_run(run_dir))
        if not record.is_live or time.monotonic() >= deadline:
            return record
        time.sleep(poll_s)


def remove_unsubmitted(records: Sequence[RunRecord]) -> None:
    """Remove runs created for a submission the cluster refused (nothing half-made stays)."""
    for record in records:
        shutil.rmtree(record.run_dir, ignore_errors=True)
