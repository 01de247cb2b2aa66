"""A run whose supervisor dies is recorded from its directory's own evidence, not `lost`,
and the slot it frees is used at once by whoever notices (a listing, a CLI command).

Real runs, real supervisors, real SIGKILLs. The one pause (SIGSTOP) holds a supervisor between
its recipe's exit and the write it would make next, where a SIGKILL hurts most.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from autotrain_tui.core import Project, RunStatus, identity
from autotrain_tui.core.groups import group_members
from autotrain_tui.core.runs import RunRecord, modify_run, read_run, reconcile
from tests.core.support import metrics_steps, raw_run_json, standin_project, wait_for

LONG = ["trainer.max_epochs=100000"]


def _end_event(run_dir: Path) -> dict | None:
    path = run_dir / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    events = [json.loads(line) for line in lines if line.strip().endswith("}")]
    return events[-1] if events and events[-1].get("event") == "end" else None


def _kill_supervisor(record: RunRecord) -> None:
    pid = record.supervisor_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: (s := identity.stamp(pid)) is None or s.is_zombie, what="the supervisor to die"
    )


@pytest.mark.slow
def test_supervisor_killed_after_the_run_completed_records_completed(
    real_project: Project,
) -> None:
    record = real_project.launch("configs/tiny.yaml", ["trainer.max_epochs=1"])
    assert record.supervisor_pid is not None
    # Once the supervisor has started the recipe (whose torch import alone takes seconds),
    # hold it: the recipe finishes, but nobody records it yet.
    running = wait_for(lambda: (r := read_run(record.run_dir)).pid and r, what="the pid")
    os.kill(record.supervisor_pid, signal.SIGSTOP)
    assert running.pid is not None
    wait_for(
        lambda: (s := identity.stamp(running.pid)) is not None and s.is_zombie,
        what="the recipe to exit",
    )
    assert (_end_event(record.run_dir) or {}).get("status") == "completed"
    _kill_supervisor(running)
    assert raw_run_json(record.run_dir)["status"] == "running"  # nobody recorded the end

    listed = {r.id: r for r in Project(real_project.root).list_runs()}[record.id]
    assert listed.status is RunStatus.COMPLETED, listed
    assert listed.exit_code == 0
    assert listed.reason is not None and "end event" in listed.reason
    assert raw_run_json(record.run_dir)["status"] == "completed"
    assert not (record.run_dir / ".supervisor.reserve").exists()  # the dead one's space


@pytest.mark.slow
def test_supervisor_killed_then_stop_records_stopped(real_project: Project) -> None:
    record = real_project.launch("configs/tiny.yaml", LONG)
    wait_for(lambda: any(s >= 2 for s in metrics_steps(record.run_dir)), what="training")
    running = read_run(record.run_dir)
    _kill_supervisor(running)

    # The stop reaches the recipe itself (no supervisor), which checkpoints and exits 3.
    ended = real_project.stop(record.id, grace_s=120, wait=True)
    assert ended.status is RunStatus.STOPPED, ended
    assert ended.exit_code == 3
    assert (_end_event(record.run_dir) or {}).get("status") == "stopped"
    assert "stopped by SIGTERM" in ended.stdout_log.read_text()
    assert running.pgid is not None and group_members(running.pgid) == []


def test_supervisor_killed_then_kill_records_stopped(standin_root: Path) -> None:
    project = standin_project(standin_root)
    record = project.launch("standin")
    running = wait_for(lambda: (r := read_run(record.run_dir)).pid and r, what="the pid")
    _kill_supervisor(running)

    ended = project.kill(record.id)  # SIGKILL: the recipe leaves no end event
    assert ended.status is RunStatus.STOPPED, ended
    assert ended.exit_code is None
    assert ended.reason == "kill requested; its supervisor died before recording the end"


def _dead_process_record(run_dir: Path, started_at: float) -> RunRecord:
    """A `running` run.json whose recipe and supervisor were a real process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    ticks = identity.start_ticks(proc.pid)
    create_time = psutil.Process(proc.pid).create_time()
    proc.kill()
    proc.wait()
    run_dir.mkdir(parents=True)
    identity_fields = {"start_ticks": ticks, "boot_id": identity.boot_id()}
    data = {
        "version": 2,
        "id": run_dir.name,
        "status": "running",
        "pid": proc.pid,
        "pgid": proc.pid,
        "create_time": create_time,
        "supervisor_pid": proc.pid,
        "supervisor_create_time": create_time,
        "supervisor_start_ticks": ticks,
        "started_at": started_at,
        **identity_fields,
    }
    (run_dir / "run.json").write_text(json.dumps(data))
    return read_run(run_dir)


@pytest.mark.parametrize(
    ("end", "status", "exit_code"),
    [
        ({"event": "end", "status": "completed"}, RunStatus.COMPLETED, 0),
        ({"event": "end", "status": "stopped"}, RunStatus.STOPPED, 3),
        ({"event": "end", "status": "failed", "exit_code": 1}, RunStatus.FAILED, 1),
        ({"event": "end", "status": "completed", "exit_code": 0}, RunStatus.COMPLETED, 0),
        ({"event": "end", "status": "failed"}, RunStatus.FAILED, None),
        ({"event": "end", "status": "pruned"}, RunStatus.PRUNED, 5),
    ],
    ids=[
        "completed",
        "stopped",
        "failed-with-code",
        "completed-with-code",
        "failed-no-code",
        "pruned",
    ],
)
def test_end_events_with_and_without_exit_code(
    tmp_path: Path, end: dict, status: RunStatus, exit_code: int | None
) -> None:
    record = _dead_process_record(tmp_path / "runs" / "r1", started_at=1000.0)
    step = {"time": 1001.0, "step": 4, "epoch": 0, "metrics": {"train/loss": 0.5}}
    lines = [json.dumps(step), json.dumps({**end, "time": 1002.0, "step": 4, "epoch": 0})]
    (record.run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    seen = reconcile(read_run(record.run_dir))
    assert (seen.status, seen.exit_code) == (status, exit_code)


def test_an_earlier_attempts_end_event_is_not_this_attempts(tmp_path: Path) -> None:
    # A resumed run appends to the same metrics.jsonl: the stop that ended attempt one says
    # nothing about attempt two, which died before logging anything.
    record = _dead_process_record(tmp_path / "runs" / "r1", started_at=2000.0)
    old_end = {"event": "end", "status": "stopped", "time": 1500.0, "step": 8, "epoch": 1}
    (record.run_dir / "metrics.jsonl").write_text(json.dumps(old_end) + "\n")
    seen = reconcile(read_run(record.run_dir))
    assert seen.status is RunStatus.LOST
    assert seen.reason == "the run's processes are gone and nothing recorded why"


def test_a_stop_recorded_without_end_event_is_stopped(tmp_path: Path) -> None:
    record = _dead_process_record(tmp_path / "runs" / "r1", started_at=1000.0)
    modify_run(record.run_dir, lambda cur: cur.replace(stop_requested="stop"))
    seen = reconcile(read_run(record.run_dir))
    assert seen.status is RunStatus.STOPPED and seen.exit_code is None


def test_listing_runs_starts_the_queued_run_behind_a_dead_supervisor(standin_root: Path) -> None:
    project = standin_project(standin_root)
    first = project.launch("standin")  # CPU only: one run at a time
    second = project.launch("standin", queue=True)
    assert read_run(second.run_dir).status is RunStatus.QUEUED
    running = wait_for(lambda: (r := read_run(first.run_dir)).pid and r, what="the pid")
    _kill_supervisor(running)
    assert running.pgid is not None
    os.killpg(running.pgid, signal.SIGKILL)
    wait_for(lambda: not group_members(running.pgid), what="the run's group to die")

    listed = subprocess.run(
        [sys.executable, "-m", "autotrain_tui.cli", "runs"],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    after = raw_run_json(second.run_dir)
    assert after["status"] == "running", after
    assert after["supervisor_pid"] is not None
    assert raw_run_json(first.run_dir)["status"] == "lost"
