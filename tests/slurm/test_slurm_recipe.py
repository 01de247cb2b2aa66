"""The recipe as a SLURM job on the real test cluster: it trains, it survives the warning
signal by checkpointing and requeueing itself (the next attempt resumes at the same step),
a stop still wins over the warning, and DDP runs as srun's tasks, which requeue together.

The batch script is the run manager's (docs/slurm.md), written out here by hand so these
tests pin the recipe's side of that contract: exit status 4 means "requeue me", and
`train --resume` continues the run after a restart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, read_metrics
from tests.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slow

JOB_TIMEOUT_S = 180.0  # a guard against hanging, not a measurement (2 shared cores)

SCRIPT = """#!/bin/bash
#SBATCH --job-name=recipe-test
#SBATCH --signal=USR1@90
#SBATCH --requeue --open-mode=append --output={run}/stdout.log
#SBATCH --nodes=1 --ntasks-per-node={tasks}
rm -f {run}/exit_code
if [ "${{SLURM_RESTART_COUNT:-0}}" -gt 0 ] && [ -f {run}/checkpoints/last.ckpt ]; then
  srun {python} -m recipe train --resume {run}
else
  srun {python} -m recipe train {run}/config.yaml --run-dir {run}
fi
code=$?; echo $code > {run}/exit_code.tmp && mv {run}/exit_code.tmp {run}/exit_code
if [ $code -eq 4 ]; then scontrol requeue "$SLURM_JOB_ID"; fi
exit $code
"""

CONFIG = """\
project: {{name: slurm, seed: 0}}
data: {{_target_: digits}}
dataloader: {{batch_size: {batch_size}}}
model: {{_target_: mlp, hidden: [16]}}
trainer:
  accelerator: cpu
  max_epochs: 1
  log_every_n_steps: 5
  limit_val_batches: 2
{more}"""


def submit_run(
    slurm: SlurmCluster,
    project: Path,
    *,
    batch_size: int = 64,
    tasks: int = 1,
    more: str = "",
) -> tuple[str, Path]:
    """A run directory with its config and batch script, submitted; (job id, run dir)."""
    run = project / "runs" / "slurm-run"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(CONFIG.format(batch_size=batch_size, more=more))
    script = run / "job.sbatch"
    script.write_text(SCRIPT.format(run=run, tasks=tasks, python=sys.executable))
    # Plain sbatch, not slurm.submit: its default --output would override the script's.
    submitted = slurm.run(
        [
            "sbatch",
            "--parsable",
            f"--chdir={project}",
            f"--export=ALL,PYTHONPATH={REPO}",
            str(script),
        ]
    )
    return submitted.stdout.strip().split(";")[0], run


def wait_until_done(slurm: SlurmCluster, job: str, run: Path) -> str:
    """The job's final state, once it has one and its exit-code file is written."""
    final = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY")
    slurm.wait_for(
        lambda: slurm.job_state(job)[0] in final, f"job {job} to end", timeout=JOB_TIMEOUT_S
    )
    return slurm.job_state(job)[0]


def ends(records: list[dict]) -> list[tuple[str, int, int]]:
    return [(r["status"], r["exit_code"], r["step"]) for r in records if r.get("event") == "end"]


# A callback in the project's custom.py that says which cluster environment Lightning uses.
PROBE = """

import pytorch_lightning as pl


@register("environment_probe")
class EnvironmentProbe(pl.Callback):
    def on_train_start(self, trainer, pl_module):
        env = trainer.strategy.cluster_environment
        print("environment:", type(env).__name__, "auto_requeue:", env.auto_requeue)
"""


def test_a_job_trains_and_completes(slurm: SlurmCluster, project: Path) -> None:
    job, run = submit_run(slurm, project)
    state = wait_until_done(slurm, job, run)
    log = (run / "stdout.log").read_text()
    assert state == "COMPLETED", log
    assert (run / "exit_code").read_text() == "0\n"
    records = read_metrics(run)
    steps = records[-1]["total_steps"]  # 1,437 training digits in batches of 64
    assert ends(records) == [("completed", 0, steps)]
    assert f"slurm: job {job} (attempt 1) on localhost, rank 0 of 1\n" in log
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_the_warning_signal_checkpoints_requeues_and_the_run_continues_at_its_step(
    slurm: SlurmCluster, project: Path
) -> None:
    # Batches of 8: 180 steps, long enough to be signalled mid-training (the signal is
    # handled within a few steps of the first metric, at step 5).
    job, run = submit_run(slurm, project, batch_size=8)
    slurm.wait_for(
        lambda: any("metrics" in r for r in _metrics(run)), "a metric", timeout=JOB_TIMEOUT_S
    )
    slurm.run(["scancel", "--signal=USR1", job])  # what --signal=USR1@90 sends before the limit
    state = wait_until_done(slurm, job, run)
    log = (run / "stdout.log").read_text()
    assert state == "COMPLETED", log
    assert (run / "exit_code").read_text() == "0\n"  # the second attempt's
    records = read_metrics(run)
    total = records[-1]["total_steps"]
    [(_, _, requeued_at), _] = ends(records)
    assert ends(records) == [("requeued", 4, requeued_at), ("completed", 0, total)]
    assert 0 < requeued_at < total
    starts = [(r["step"], r["resumed"]) for r in records if r.get("event") == "start"]
    assert starts == [(0, False), (requeued_at, True)]
    # The second attempt continued from the checkpoint's step: no step went back.
    second = records[records.index(next(r for r in records if r.get("resumed"))) :]
    assert min(r["step"] for r in second) == requeued_at
    # Both attempts in one log, appended; the same job id, restarted once.
    assert log.index(f"slurm: job {job} (attempt 1) on localhost, rank 0 of 1\n") < log.index(
        f"requeueing; checkpoint saved at step {requeued_at}\n"
    )
    assert log.index("requeueing; checkpoint") < log.index(f"slurm: job {job} (attempt 2)")
    # One checkpoint scheme, the recipe's: nothing of Lightning's SLURM auto-requeue.
    assert sorted(p.name for p in run.rglob("*.ckpt")) == ["best.ckpt", "last.ckpt"]


def test_a_stop_wins_over_the_warning(slurm: SlurmCluster, project: Path) -> None:
    # Both signals while the recipe is still importing torch: it is stopped, not requeued.
    job, run = submit_run(slurm, project)
    log = run / "stdout.log"
    slurm.wait_for(lambda: log.exists() and "slurm: job" in log.read_text(), "the recipe to start")
    slurm.run(["scancel", "--signal=USR1", job])
    slurm.run(["scancel", "--signal=TERM", job])
    state = wait_until_done(slurm, job, run)
    assert state == "FAILED"  # the batch script exits 3: not requeued
    assert (run / "exit_code").read_text() == "3\n"
    assert "stopped by SIGTERM before training started\n" in log.read_text()
    assert ends(read_metrics(run)) == [("stopped", 3, 0)]


def test_ddp_runs_as_two_srun_tasks_and_both_ranks_requeue_at_the_same_step(
    slurm: SlurmCluster, project: Path
) -> None:
    with (project / "custom.py").open("a") as custom:
        custom.write(PROBE)
    more = "  devices: 2\n  strategy: ddp\ncallbacks: [environment_probe]\n"
    job, run = submit_run(slurm, project, batch_size=8, tasks=2, more=more)
    slurm.wait_for(
        lambda: any("metrics" in r for r in _metrics(run)), "a metric", timeout=JOB_TIMEOUT_S
    )
    slurm.run(["scancel", "--signal=USR1", job])  # reaches both tasks
    state = wait_until_done(slurm, job, run)
    log = (run / "stdout.log").read_text()
    assert state == "COMPLETED", log
    assert (run / "exit_code").read_text() == "0\n"
    for attempt in (1, 2):
        for rank in (0, 1):
            assert f"slurm: job {job} (attempt {attempt}) on localhost, rank {rank} of 2\n" in log
    for rank in (0, 1):
        assert log.count(f"GLOBAL_RANK: {rank}, MEMBER: {rank + 1}/2") == 2  # Lightning's
    # Lightning's SLURM environment (ranks and address from srun), without its own requeue.
    assert log.count("environment: SLURMEnvironment auto_requeue: False\n") == 4
    # Both ranks got the warning, stopped after the same batch and exited 4 alike.
    assert log.count("received SIGUSR1") == 2
    assert "srun: error: localhost: tasks 0-1: Exited with exit code 4\n" in log
    # One metrics file, written by rank 0 alone, one end event per attempt; each rank trains
    # on its half of the data: ceil(719 / 8) steps.
    records = read_metrics(run)
    [(_, _, requeued_at), _] = ends(records)
    assert ends(records) == [("requeued", 4, requeued_at), ("completed", 0, 90)]
    assert 0 < requeued_at < 90
    starts = [(r["step"], r["resumed"]) for r in records if r.get("event") == "start"]
    assert starts == [(0, False), (requeued_at, True)]
    assert list(project.rglob("metrics.jsonl")) == [run / "metrics.jsonl"]


def _metrics(run: Path) -> list[dict]:
    try:
        return read_metrics(run)
    except (OSError, ValueError):  # not there yet, or a line half written
        return []
