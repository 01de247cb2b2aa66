"""Runs of the real recipe, start to end: launch, supervise, survive the manager, stop, kill,
resume, fail. Real subprocesses and real (tiny) training; no fakes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from autotrain_tui.core import InvalidConfigError, Project, RunStatus, identity
from autotrain_tui.core.groups import group_members
from autotrain_tui.core.runs import RunRecord, process_matches
from tests.core.support import metrics_steps, raw_run_json, wait_for

pytestmark = pytest.mark.slow

LONG = ["trainer.max_epochs=100000"]


def test_launch_and_watch_to_completed(real_project: Project) -> None:
    record = real_project.launch("configs/tiny.yaml", ["trainer.max_epochs=1"])
    assert record.status is RunStatus.RUNNING
    assert record.supervisor_pid is not None
    assert (record.run_dir / "config.yaml").read_text().startswith("# A tiny config")
    assert "max_epochs: 1" in (record.run_dir / "config.yaml").read_text()

    done = wait_for(
        lambda: (r := real_project.get_run(record.id[:12])).status is RunStatus.COMPLETED and r,
        what="the run to complete",
    )
    assert done.exit_code == 0
    assert done.pid is not None and done.pgid == done.pid and done.create_time is not None
    assert done.ended_at is not None and done.ended_at >= (done.started_at or 0)
    assert "best val/acc" in done.stdout_log.read_text()
    events = [json.loads(line) for line in done.metrics_jsonl.read_text().splitlines()]
    assert events[-1].get("event") == "end" and events[-1]["status"] == "completed"
    assert not group_members(done.pgid)


def _manager_script(root: Path) -> str:
    return textwrap.dedent(f"""
        import sys, time
        from autotrain_tui.core import Project
        record = Project({str(root)!r}).launch("configs/tiny.yaml", ["trainer.max_epochs=4"])
        print(record.id, flush=True)
        time.sleep(3600)
    """)


def _start_manager(root: Path) -> tuple[subprocess.Popen[str], str]:
    manager = subprocess.Popen(
        [sys.executable, "-c", _manager_script(root)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert manager.stdout is not None
    run_id = manager.stdout.readline().strip()
    assert run_id, "the manager printed no run id"
    return manager, run_id


def test_manager_killed_with_sigkill_then_new_manager_sees_running_then_completed(
    real_project: Project,
) -> None:
    manager, run_id = _start_manager(real_project.root)
    os.killpg(manager.pid, signal.SIGKILL)
    manager.wait()

    fresh = Project(real_project.root)
    assert fresh.get_run(run_id).status is RunStatus.RUNNING
    done = wait_for(lambda: (r := fresh.get_run(run_id)).is_live is False and r, what="end")
    assert done.status is RunStatus.COMPLETED and done.exit_code == 0


def test_run_that_ends_with_no_manager_alive_is_recorded(real_project: Project) -> None:
    manager, run_id = _start_manager(real_project.root)
    # The terminal goes away (SSH drop): SIGHUP to the manager's whole group, then it dies.
    os.killpg(manager.pid, signal.SIGHUP)
    manager.wait()
    run_dir = real_project.runs_dir / run_id
    # Read the file only: nothing of ours reconciles while the run ends.
    final = wait_for(
        lambda: (d := raw_run_json(run_dir))["status"] != "running" and d, what="final status"
    )
    assert final["status"] == "completed"
    assert final["exit_code"] == 0 and final["ended_at"] is not None


def _wait_training(project: Project, run_id: str, min_step: int = 1) -> None:
    run_dir = project.runs_dir / run_id
    wait_for(lambda: any(s >= min_step for s in metrics_steps(run_dir)), what="training steps")


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "kill"])
def test_stop_and_kill_leave_no_process_of_the_group(real_project: Project, kill: bool) -> None:
    record = real_project.launch("configs/tiny.yaml", [*LONG, "dataloader.num_workers=2"])
    _wait_training(real_project, record.id)
    running = real_project.get_run(record.id)
    assert running.pgid is not None
    members = group_members(running.pgid)
    assert len(members) >= 3, f"expected the recipe and 2 DataLoader workers, got {members}"

    if kill:
        ended = real_project.kill(record.id)
    else:
        ended = real_project.stop(record.id, grace_s=120, wait=True)

    assert ended.status is RunStatus.STOPPED, _logs_of(ended)
    assert group_members(running.pgid) == []
    assert not any(
        p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in members if _same(p)
    )
    if kill:
        assert ended.exit_code is None and ended.reason == "killed by SIGKILL"
    else:
        assert ended.exit_code == 3
        assert ended.last_checkpoint.is_file()
        assert "stopped by SIGTERM" in ended.stdout_log.read_text()


def _logs_of(record: RunRecord) -> str:
    """The ends of a run's own log and its supervisor's, for a failure message."""
    parts = [repr(record)]
    for name in ("stdout.log", "supervisor.log"):
        path = record.run_dir / name
        text = path.read_text(errors="replace") if path.is_file() else "(missing)"
        parts.append(f"--- {name} (end) ---\n{text[-4000:]}")
    return "\n".join(parts)


def _same(proc: psutil.Process) -> bool:
    try:
        return proc.is_running()
    except psutil.Error:
        return False


def test_stop_escalates_to_sigkill_after_the_grace_period(real_project: Project) -> None:
    record = real_project.launch("configs/tiny.yaml", LONG)
    _wait_training(real_project, record.id)
    running = real_project.get_run(record.id)
    assert running.pgid is not None
    # SIGSTOP the recipe: it can no longer handle SIGTERM, only SIGKILL ends it.
    os.killpg(running.pgid, signal.SIGSTOP)
    ended = real_project.stop(record.id, grace_s=0.5, wait=True)
    assert ended.status is RunStatus.STOPPED and ended.exit_code is None
    assert ended.reason == "killed by SIGKILL"
    assert group_members(running.pgid) == []
    assert "grace period over" in (record.run_dir / "supervisor.log").read_text()


def test_resume_continues_the_step_count(real_project: Project) -> None:
    record = real_project.launch("configs/tiny.yaml", LONG)
    _wait_training(real_project, record.id, min_step=6)
    stopped = real_project.stop(record.id, grace_s=120, wait=True)
    assert stopped.status is RunStatus.STOPPED and stopped.last_checkpoint.is_file()
    last_step = max(metrics_steps(record.run_dir))

    resumed = real_project.resume(record.id[:10])
    assert resumed.status is RunStatus.RUNNING and resumed.resumes == 1
    assert resumed.command[-2:] == ("--resume", f"runs/{record.id}")
    wait_for(
        lambda: (
            len(metrics_steps(record.run_dir)) > 0
            and max(metrics_steps(record.run_dir)) > last_step
        ),
        what="steps after resume",
    )
    steps = metrics_steps(record.run_dir)
    after = steps[steps.index(max(s for s in steps[: len(steps)] if s <= last_step)) + 1 :]
    assert after and min(after) > last_step - 1, "the resumed run restarted its step count"
    killed = real_project.kill(record.id)
    assert killed.status is RunStatus.STOPPED


def test_failing_run_is_failed_with_its_traceback_in_the_log(real_project: Project) -> None:
    (real_project.root / "custom.py").write_text(
        textwrap.dedent("""
        from recipe.registry import register

        @register("broken_data")
        def broken_data(val_fraction: float = 0.2):
            raise RuntimeError("custom data exploded on purpose")
    """)
    )
    record = real_project.launch("configs/tiny.yaml", ["data._target_=broken_data"])
    done = wait_for(
        lambda: (r := real_project.get_run(record.id)).is_live is False and r, what="the run to end"
    )
    assert done.status is RunStatus.FAILED and done.exit_code == 1
    log = done.stdout_log.read_text()
    assert "Traceback (most recent call last)" in log
    assert "custom data exploded on purpose" in log


def test_invalid_config_is_never_launched(real_project: Project) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        real_project.launch("configs/tiny.yaml", ["trainer.max_epochs=abc"])
    assert caught.value.messages == [
        "<command line>:1:1: 'trainer.max_epochs' must be an integer, got 'abc' (a string)"
    ]
    assert not real_project.runs_dir.exists() or not any(real_project.runs_dir.iterdir())


def test_reused_pid_is_not_reported_running(real_project: Project) -> None:
    record = real_project.launch("configs/tiny.yaml", ["trainer.max_epochs=1"])
    done = wait_for(
        lambda: (r := real_project.get_run(record.id)).is_live is False and r, what="the run to end"
    )
    wait_for(
        lambda: not process_matches(done.supervisor_pid, done.supervisor_create_time),
        what="the supervisor to exit",
    )
    # Pretend the run is still running, with its pid now used by an unrelated process
    # (which started later: other start ticks).
    unrelated = psutil.Process(os.getpid())
    data = raw_run_json(done.run_dir)
    assert data["start_ticks"] != identity.start_ticks(unrelated.pid)
    data.update(
        status="running",
        pid=unrelated.pid,
        pgid=unrelated.pid,
        create_time=unrelated.create_time() + 5.0,
        ended_at=None,
        exit_code=None,
    )
    (done.run_dir / "run.json").write_text(json.dumps(data))
    assert process_matches(unrelated.pid, unrelated.create_time())

    seen = real_project.get_run(record.id)
    # Not running: recorded from the run's own end event, as its supervisor died unrecorded.
    assert seen.status is RunStatus.COMPLETED and seen.exit_code == 0
