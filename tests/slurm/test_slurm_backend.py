"""The SLURM backend end to end: real runs of the real recipe, submitted to the test cluster.

Launch, the curve in the run directory, completion from the directory's evidence; a pending
job's reason; stop (checkpoint, `stopped`) and kill; resume as a new job continuing the steps;
a job that fails; a job killed outside the manager (`lost`, naming its state); a sweep as one
job array; one `squeue` per poll however many runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autotrain_tui.core import Project, trust
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord, RunStatus, modify_run
from autotrain_tui.core.slurm.state import POLLER
from tests.core.support import TINY_CONFIG, kill_project_processes, make_root, metrics_steps
from tests.slurm_cluster import SlurmCluster, usable_cpus

pytestmark = pytest.mark.slow

# Enough batches that a stop lands mid-training (about 10 s of training on one core).
LONG = ["trainer.max_epochs=40", "dataloader.batch_size=16"]


@pytest.fixture
def project(slurm: SlurmCluster, tmp_path: Path) -> Iterator[Project]:
    # A space in the project's path: the batch script must quote every path it writes.
    root = make_root(tmp_path / "my project", "tiny.yaml", TINY_CONFIG)
    trust.trust_project(root)
    POLLER.forget()
    try:
        yield Project(root)
    finally:
        kill_project_processes(root)


def wait_run(project: Project, run_id: str, test, what: str, timeout_s: float = 120.0) -> RunRecord:
    deadline = time.monotonic() + timeout_s
    while True:
        record = project.get_run(run_id)
        if test(record):
            return record
        if time.monotonic() > deadline:
            log = record.run_dir / "stdout.log"
            tail = log.read_text()[-1500:] if log.exists() else "(no stdout.log)"
            pytest.fail(f"timed out waiting for {what}; record {record}\nstdout.log:\n{tail}")
        time.sleep(0.3)


def end_event(run_dir: Path) -> dict:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return json.loads(lines[-1])


def test_a_run_submitted_to_slurm_trains_and_completes(project: Project) -> None:
    record = project.launch("configs/tiny.yaml", slurm=True)
    assert record.backend == "slurm" and record.status is RunStatus.RUNNING
    assert record.slurm is not None and record.slurm.job_id and record.slurm.job_id.isdigit()
    assert record.slurm.jobs == (record.slurm.job_id,)
    script = (record.run_dir / "job.sbatch").read_text()
    assert "#SBATCH --signal=USR1@90" in script and "srun " in script

    done = wait_run(project, record.id, lambda r: not r.is_live, "the run to end")
    assert done.status is RunStatus.COMPLETED, done.reason
    assert done.exit_code == 0
    assert metrics_steps(done.run_dir), "no curve in metrics.jsonl"
    assert end_event(done.run_dir)["status"] == "completed"
    exit_file = json.loads((done.run_dir / "exit_code").read_text())
    assert exit_file == {"exit_code": 0, "job_id": record.slurm.job_id, "attempt": 0}
    log = done.run_dir.joinpath("stdout.log").read_text()
    assert f"autotrain-tui: job {record.slurm.job_id} attempt 0" in log
    assert "srun exited 0" in log
    assert done.slurm is not None and done.slurm.cluster


def test_a_pending_job_shows_the_schedulers_reason_then_runs(
    project: Project, slurm: SlurmCluster, tmp_path: Path
) -> None:
    # Another job holds every CPU of the node: ours must wait for Resources.
    blocker = slurm.submit(f"--cpus-per-task={usable_cpus()}", "--wrap", "sleep 60")
    slurm.wait_for(lambda: slurm.job_state(blocker)[0] == "RUNNING", "the blocker to run")
    record = project.launch("configs/tiny.yaml", slurm=True)
    pending = wait_run(
        project,
        record.id,
        lambda r: r.slurm is not None and r.slurm.state == "PENDING" and r.slurm.reason,
        "the job to pend with a reason",
    )
    assert pending.slurm is not None
    assert pending.slurm.shown_state in ("PENDING (Resources)", "PENDING (Priority)")
    assert pending.status is RunStatus.RUNNING  # live: SLURM holds it
    subprocess.run(["scancel", blocker], check=True)
    done = wait_run(project, record.id, lambda r: not r.is_live, "the run to end")
    assert done.status is RunStatus.COMPLETED, done.reason


def test_stop_checkpoints_and_resume_continues_as_a_new_job(project: Project) -> None:
    record = project.launch("configs/tiny.yaml", LONG, slurm=True)
    wait_run(project, record.id, lambda r: len(metrics_steps(r.run_dir)) >= 3, "training")
    stopped = project.stop(record.id, grace_s=60, wait=True)
    assert stopped.status is RunStatus.STOPPED, stopped.reason
    assert stopped.exit_code == 3
    assert (stopped.run_dir / "checkpoints" / "last.ckpt").is_file()
    assert end_event(stopped.run_dir)["status"] == "stopped"
    step_at_stop = end_event(stopped.run_dir)["step"]

    resumed = project.resume(record.id)
    assert resumed.status is RunStatus.RUNNING and resumed.resumes == 1
    assert resumed.slurm is not None and len(resumed.slurm.jobs) == 2
    assert resumed.slurm.jobs[0] == record.slurm.job_id != resumed.slurm.job_id  # type: ignore[union-attr]
    wait_run(
        project,
        record.id,
        lambda r: max(metrics_steps(r.run_dir)) > step_at_stop,
        "the resumed run to train past the stop",
    )
    project.stop(record.id, grace_s=60)
    done = wait_run(project, record.id, lambda r: not r.is_live, "the resumed run to end")
    assert done.status is RunStatus.STOPPED, done.reason
    start = [json.loads(x) for x in done.run_dir.joinpath("metrics.jsonl").read_text().splitlines()]
    resumed_start = [e for e in start if e.get("event") == "start" and e.get("resumed")]
    assert resumed_start and resumed_start[-1]["step"] == step_at_stop
    log = done.run_dir.joinpath("stdout.log").read_text()
    assert log.count("autotrain-tui: job ") == 2  # both jobs appended to one log


def test_kill_cancels_at_once_and_records_stopped(project: Project) -> None:
    record = project.launch("configs/tiny.yaml", LONG, slurm=True)
    wait_run(project, record.id, lambda r: len(metrics_steps(r.run_dir)) >= 1, "training")
    killed = project.kill(record.id)
    assert killed.status is RunStatus.STOPPED, killed.reason
    assert killed.stop_requested == "kill"


def test_a_failing_job_is_failed_with_its_exit_code(project: Project) -> None:
    # Skips the launch-time check on purpose: the recipe on the node finds the config bad.
    record = project.launch("configs/tiny.yaml", ["model.hidden=oops"], check=False, slurm=True)
    done = wait_run(project, record.id, lambda r: not r.is_live, "the run to end")
    assert done.status is RunStatus.FAILED
    assert done.exit_code == 2


def test_a_job_cancelled_outside_the_manager_is_lost_with_its_state(
    project: Project, slurm: SlurmCluster
) -> None:
    # An administrator cancels the job while it pends: nothing ran, nothing was recorded.
    blocker = slurm.submit(f"--cpus-per-task={usable_cpus()}", "--wrap", "sleep 60")
    slurm.wait_for(lambda: slurm.job_state(blocker)[0] == "RUNNING", "the blocker to run")
    record = project.launch("configs/tiny.yaml", slurm=True)
    assert record.slurm is not None and record.slurm.job_id
    subprocess.run(["scancel", record.slurm.job_id], check=True)
    done = wait_run(project, record.id, lambda r: not r.is_live, "the run to end")
    assert done.status is RunStatus.LOST
    assert done.reason is not None and f"job {record.slurm.job_id} ended CANCELLED" in done.reason


def test_a_job_cancelled_outside_the_manager_while_training_ends_as_the_recipe_says(
    project: Project,
) -> None:
    # scancel sends the steps SIGTERM: the recipe checkpoints and records `stopped` itself.
    record = project.launch("configs/tiny.yaml", LONG, slurm=True)
    wait_run(project, record.id, lambda r: len(metrics_steps(r.run_dir)) >= 1, "training")
    assert record.slurm is not None and record.slurm.job_id
    subprocess.run(["scancel", record.slurm.job_id], check=True)
    done = wait_run(project, record.id, lambda r: not r.is_live, "the run to end")
    assert done.status is RunStatus.STOPPED, done.reason
    assert (done.run_dir / "checkpoints" / "last.ckpt").is_file()


def test_a_sweep_is_one_job_array_and_every_point_completes(project: Project) -> None:
    summary = project.sweep("configs/tiny.yaml", ["optimizer.lr=0.01,0.003"], slurm=True)
    runs = [project.get_run(run_id) for run_id in summary.run_ids]
    jobs = sorted(r.slurm.job_id for r in runs if r.slurm and r.slurm.job_id)
    assert len(jobs) == 2
    array = jobs[0].split("_")[0]
    assert jobs == [f"{array}_0", f"{array}_1"]
    for run in runs:
        done = wait_run(project, run.id, lambda r: not r.is_live, f"{run.id} to end")
        assert done.status is RunStatus.COMPLETED, done.reason
        assert metrics_steps(done.run_dir)


def test_one_squeue_per_poll_however_many_runs(project: Project) -> None:
    project.sweep("configs/tiny.yaml", ["optimizer.lr=0.01,0.003,0.001"], slurm=True)
    POLLER.forget()
    before = POLLER.calls
    records = project.list_runs()
    assert len([r for r in records if r.backend == "slurm"]) == 3
    assert POLLER.calls - before == 1


def test_a_controller_that_does_not_answer_loses_no_run(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    record = project.launch("configs/tiny.yaml", LONG, slurm=True)
    # Submitted long ago as far as the manager knows (past the grace for a new job).
    modify_run(record.run_dir, lambda r: r.replace(started_at=r.started_at - 600))
    # The real squeue, pointed at a configuration it cannot use: it fails at once, as it
    # does (after its timeouts) when slurmctld is down. Nothing is known then, and nothing
    # changes: the run is not declared lost because the controller was silent.
    broken = tmp_path / "broken-slurm.conf"
    broken.write_text("# no ClusterName, no controller\n")
    monkeypatch.setenv("SLURM_CONF", str(broken))
    POLLER.forget()
    for _ in range(3):
        seen = project.get_run(record.id)
        assert seen.status is RunStatus.RUNNING and seen.reason is None
        POLLER.forget()


def test_without_sbatch_a_slurm_launch_says_so_and_leaves_nothing(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", "/nonexistent")
    try:
        with pytest.raises(ManagerError, match=r"sbatch.*not found on PATH"):
            project.launch("configs/tiny.yaml", slurm=True, check=False)
    finally:
        monkeypatch.setenv("PATH", path)  # the cluster's clean-up needs scancel
    assert not any(project.runs_dir.iterdir()), "a run directory was left behind"


def test_a_job_the_cluster_refuses_leaves_no_run(project: Project) -> None:
    # A valid config asking for a partition this cluster does not have.
    with pytest.raises(ManagerError, match=r"sbatch refused the job: .*[Pp]artition"):
        project.launch("configs/tiny.yaml", ["slurm.partition=nosuchpartition"], slurm=True)
    assert not any(project.runs_dir.iterdir()), "a run directory was left behind"


def test_a_pending_sweep_stops_at_once_and_resumes_from_scratch(
    project: Project, slurm: SlurmCluster
) -> None:
    blocker = slurm.submit(f"--cpus-per-task={usable_cpus()}", "--wrap", "sleep 60")
    slurm.wait_for(lambda: slurm.job_state(blocker)[0] == "RUNNING", "the blocker to run")
    summary = project.sweep("configs/tiny.yaml", ["optimizer.lr=0.01,0.003"], slurm=True)
    stopped = project.stop_sweep(summary.id, wait=True)
    assert [r.status for r in stopped] == [RunStatus.STOPPED] * 2, [r.reason for r in stopped]
    assert not any(r.metrics_jsonl.exists() for r in stopped)  # nothing ever trained
    subprocess.run(["scancel", blocker], check=True)

    resumed = project.resume_sweep(summary.id)
    assert len(resumed) == 2
    for run in resumed:
        assert run.slurm is not None and len(run.slurm.jobs) == 2
        done = wait_run(project, run.id, lambda r: not r.is_live, f"{run.id} to end")
        assert done.status is RunStatus.COMPLETED, done.reason


def test_a_job_asking_for_more_cpus_than_any_node_pends_with_the_reason(project: Project) -> None:
    cpus = usable_cpus() + 8
    record = project.launch("configs/tiny.yaml", [f"slurm.cpus_per_task={cpus}"], slurm=True)
    assert f"#SBATCH --cpus-per-task={cpus}" in (record.run_dir / "job.sbatch").read_text()
    pending = wait_run(
        project,
        record.id,
        lambda r: r.slurm is not None and r.slurm.reason is not None,
        "the scheduler's reason",
    )
    assert pending.slurm is not None and pending.slurm.shown_state == "PENDING (PartitionConfig)"
    stopped = project.stop(record.id, wait=True)
    assert stopped.status is RunStatus.STOPPED
    assert stopped.reason is not None and "CANCELLED (PartitionConfig)" in stopped.reason


def test_the_time_limit_warning_requeues_and_the_run_continues_at_the_same_step(
    project: Project,
) -> None:
    record = project.launch("configs/tiny.yaml", LONG, slurm=True)
    assert record.slurm is not None and record.slurm.job_id
    wait_run(project, record.id, lambda r: len(metrics_steps(r.run_dir)) >= 3, "training")
    # What SLURM sends signal_before_s ahead of the time limit (or at preemption).
    subprocess.run(["scancel", "--signal=USR1", record.slurm.job_id], check=True)
    events = lambda r: [json.loads(x) for x in r.metrics_jsonl.read_text().splitlines()]  # noqa: E731
    requeued = wait_run(
        project,
        record.id,
        lambda r: any(e.get("status") == "requeued" for e in events(r)),
        "the checkpoint at the warning",
    )
    assert requeued.is_live  # between attempts the run is not over
    step = next(e["step"] for e in events(requeued) if e.get("status") == "requeued")
    again = wait_run(
        project,
        record.id,
        lambda r: any(e.get("event") == "start" and e.get("resumed") for e in events(r)),
        "the requeued job to resume",
        timeout_s=180,
    )
    assert again.status is RunStatus.RUNNING and again.slurm is not None
    assert again.slurm.job_id == record.slurm.job_id  # a requeue keeps the job id
    resumed = [e for e in events(again) if e.get("event") == "start" and e.get("resumed")]
    assert resumed[0]["step"] == step
    restarted = wait_run(
        project, record.id, lambda r: r.slurm is not None and r.slurm.restarts == 1, "restarts"
    )
    assert restarted.is_live
    project.stop(record.id, wait=True)
    log = record.stdout_log.read_text()
    assert "attempt 0" in log and "attempt 1" in log


def test_ddp_on_two_cpu_ranks_is_two_srun_tasks_from_trainer_devices(project: Project) -> None:
    ddp = ["trainer.devices=2", "trainer.strategy=ddp", "slurm.cpus_per_task=1"]
    record = project.launch("configs/tiny.yaml", ddp, slurm=True)
    assert "#SBATCH --ntasks-per-node=2" in (record.run_dir / "job.sbatch").read_text()
    done = wait_run(project, record.id, lambda r: not r.is_live, "the DDP run to end")
    assert done.status is RunStatus.COMPLETED, done.reason
    log = done.stdout_log.read_text()
    assert "rank 0 of 2" in log and "rank 1 of 2" in log
    ends = [
        e
        for e in map(json.loads, done.metrics_jsonl.read_text().splitlines())
        if e.get("event") == "end"
    ]
    assert len(ends) == 1  # one end event: rank 0 writes the run's record


def test_without_requeue_the_warning_saves_and_the_run_ends_stopped_and_resumable(
    project: Project,
) -> None:
    record = project.launch("configs/tiny.yaml", [*LONG, "slurm.requeue=false"], slurm=True)
    script = (record.run_dir / "job.sbatch").read_text()
    assert "#SBATCH --no-requeue" in script and "scontrol requeue" not in script
    assert record.slurm is not None and record.slurm.job_id
    wait_run(project, record.id, lambda r: len(metrics_steps(r.run_dir)) >= 3, "training")
    subprocess.run(["scancel", "--signal=USR1", record.slurm.job_id], check=True)
    done = wait_run(project, record.id, lambda r: not r.is_live, "the run to end")
    assert done.status is RunStatus.STOPPED and done.exit_code == 4
    assert done.reason is not None and "not requeued" in done.reason
    assert (done.run_dir / "checkpoints" / "last.ckpt").is_file()
