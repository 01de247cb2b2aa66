"""Steering a SLURM run: the same control/ files, read by the recipe on the node (here the
test cluster's one node, the run directory on the same filesystem, as on a shared one)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autotrain_tui.core import Project, steering, trust
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.core.slurm.state import POLLER
from tests.core.support import TINY_CONFIG, kill_project_processes, make_root, metrics_steps
from tests.slurm_cluster import SlurmCluster, usable_cpus

pytestmark = pytest.mark.slow


@pytest.fixture
def project(slurm: SlurmCluster, tmp_path: Path) -> Iterator[Project]:
    root = make_root(tmp_path, "tiny.yaml", TINY_CONFIG)
    trust.trust_project(root)
    POLLER.forget()
    try:
        yield Project(root)
    finally:
        kill_project_processes(root)


def wait_run(project: Project, run_id: str, test, what: str) -> RunRecord:
    deadline = time.monotonic() + 120
    while not test(record := project.get_run(run_id)):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; record {record}")
        time.sleep(0.3)
    return record


def test_a_pending_job_is_refused_then_the_running_one_is_steered_and_stops(
    project: Project, slurm: SlurmCluster
) -> None:
    blocker = slurm.submit(f"--cpus-per-task={usable_cpus()}", "--wrap", "sleep 60")
    slurm.wait_for(lambda: slurm.job_state(blocker)[0] == "RUNNING", "the blocker to run")
    record = project.launch("configs/tiny.yaml", ["trainer.max_epochs=300"], slurm=True)
    pending = wait_run(
        project, record.id, lambda r: r.slurm is not None and r.slurm.state == "PENDING", "pending"
    )
    with pytest.raises(ManagerError, match="its SLURM job is PENDING; steer it once the job runs"):
        steering.send(pending, "lr", "x0.5")
    assert not (record.run_dir / "control").exists()

    subprocess.run(["scancel", blocker], check=True)
    running = wait_run(project, record.id, lambda r: bool(metrics_steps(r.run_dir)), "training")
    command_id = steering.send(running, "lr", "x0.5")
    ack = steering.wait_ack(running, command_id, timeout_s=60)
    assert ack is not None and ack.status == "applied" and ack.value == 1.5e-3
    stop_id = steering.send(running, "stop")
    stop = steering.wait_ack(running, stop_id, timeout_s=60)
    assert stop is not None and stop.status == "applied"
    done = wait_run(project, record.id, lambda r: not r.is_live, "the run to end")
    assert (done.status, done.exit_code) == (RunStatus.STOPPED, 3), done.reason
    end = json.loads((done.run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert end["status"] == "stopped" and end["step"] % 12 == 0  # at an epoch's end
