"""Process identity without the wall clock, and signals only to what is provably the run's.

The real clock is never changed here. A stepped clock shows up in one place, the start time
psutil derives from it (`create_time`), so a step of one second is reproduced exactly by a
record whose `create_time` is one second off, as a supervisor that read it before the step
wrote it. A reused pid is reproduced by a record naming a stranger's pid (a real process in
its own session, so its pid is also its process group id), as reuse produces.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from autotrain_tui.core import QueueSettings, RunStatus, identity
from autotrain_tui.core.groups import signal_group
from autotrain_tui.core.runs import RunRecord, process_matches, read_run
from tests.core.support import raw_run_json, standin_project, wait_for


def _step_clock_in_record(run_dir: Path, seconds: float) -> None:
    """run.json as a clock stepped by `seconds` makes it look: every create_time is off."""
    data = raw_run_json(run_dir)
    for key in ("create_time", "supervisor_create_time"):
        if data.get(key) is not None:
            data[key] += seconds
    (run_dir / "run.json").write_text(json.dumps(data))


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated program leading its own session and process group."""
    proc = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_clock_step_neither_loses_a_live_run_nor_lets_the_queue_overrun(
    standin_root: Path,
) -> None:
    project = standin_project(standin_root)
    project.set_queue_settings(QueueSettings(max_concurrent=1))
    first = project.launch("standin")
    # The stand-in handles SIGTERM (checkpoint, exit 3) once it has written env.json.
    wait_for(lambda: (first.run_dir / "env.json").exists(), what="the stand-in to train")
    _step_clock_in_record(first.run_dir, 1.0)

    assert project.get_run(first.id).status is RunStatus.RUNNING
    second = project.launch("standin", queue=True)
    assert project.advance_queue() == []
    assert read_run(second.run_dir).status is RunStatus.QUEUED

    stopped = project.stop(first.id, grace_s=60, wait=True)
    assert stopped.status is RunStatus.STOPPED and stopped.exit_code == 3
    assert read_run(second.run_dir).status is RunStatus.RUNNING  # its turn now


def test_a_record_from_before_start_ticks_is_read_and_then_survives_a_clock_step(
    standin_root: Path,
) -> None:
    project = standin_project(standin_root)
    run = project.launch("standin")
    wait_for(lambda: read_run(run.run_dir).pid, what="the recipe's pid")
    # As an older version wrote it: create_time only.
    data = raw_run_json(run.run_dir)
    for key in ("start_ticks", "supervisor_start_ticks", "boot_id"):
        data.pop(key, None)
    data["version"] = 1
    (run.run_dir / "run.json").write_text(json.dumps(data))

    assert project.get_run(run.id).status is RunStatus.RUNNING
    upgraded = raw_run_json(run.run_dir)
    assert upgraded.get("start_ticks") == identity.start_ticks(data["pid"])
    _step_clock_in_record(run.run_dir, -1.0)
    assert project.get_run(run.id).status is RunStatus.RUNNING
    assert project.kill(run.id).status is RunStatus.STOPPED


def test_identity_is_start_ticks_not_wall_clock() -> None:
    me = psutil.Process()
    ticks = identity.start_ticks(me.pid)
    assert ticks is not None
    assert process_matches(me.pid, me.create_time() + 1.0, ticks, identity.boot_id())
    assert not process_matches(me.pid, me.create_time(), ticks + 1, identity.boot_id())
    assert not process_matches(me.pid, me.create_time(), ticks, "another-boot")


def test_stop_never_kills_the_group_its_recorded_id_now_names(
    standin_root: Path, stranger: subprocess.Popen[bytes]
) -> None:
    project = standin_project(standin_root)
    run = project.launch("standin")
    real = wait_for(lambda: (r := read_run(run.run_dir)).pid and r, what="the recipe's pid")
    # The record's group id is now a stranger's (the recipe's pid reused), start ticks still
    # the recipe's. The supervisor stops its own recipe; the stop's final sweep of the
    # recorded group must leave the stranger alone.
    data = raw_run_json(run.run_dir)
    data.update(pid=stranger.pid, pgid=stranger.pid)
    (run.run_dir / "run.json").write_text(json.dumps(data))

    ended = project.stop(run.id, grace_s=60, wait=True)
    assert ended.status is RunStatus.STOPPED
    assert stranger.poll() is None, "the stop killed an unrelated process group"
    assert not identity.is_alive(real.pid, real.start_ticks, real.boot_id)


def test_a_group_signal_needs_the_leaders_identity(
    tmp_path: Path, stranger: subprocess.Popen[bytes]
) -> None:
    ticks = identity.start_ticks(stranger.pid)
    assert ticks is not None
    record = RunRecord(
        id="r",
        run_dir=tmp_path,
        status=RunStatus.RUNNING,
        pid=stranger.pid,
        pgid=stranger.pid,
        start_ticks=ticks - 1,  # the run's leader started earlier: not this process
        boot_id=identity.boot_id(),
    )
    assert not signal_group(record, signal.SIGKILL)
    assert stranger.poll() is None
    assert signal_group(record.replace(start_ticks=ticks), signal.SIGKILL)
    assert stranger.wait(timeout=30) == -signal.SIGKILL


def test_a_starting_run_is_not_lost_by_a_clock_step(standin_root: Path) -> None:
    # The queue has marked the run `running`; its supervisor has not recorded itself yet
    # (a start in flight, for milliseconds). A clock stepped forward an hour meanwhile makes
    # `started_at` look an hour old: the run is still starting, not lost.
    project = standin_project(standin_root)
    run = project.launch("standin")
    project.kill(run.id)
    data = raw_run_json(run.run_dir)
    assert data["started_boot_s"] is not None  # the queue recorded the start on the boot clock
    data.update(status="running", ended_at=None, exit_code=None, reason=None)
    data.update(started_at=data["started_at"] - 3600.0, stop_requested=None)
    for key in ("pid", "pgid", "create_time", "start_ticks"):
        data[key] = None
    for key in ("supervisor_pid", "supervisor_create_time", "supervisor_start_ticks"):
        data[key] = None
    data["started_boot_s"] = identity.boot_seconds()
    (run.run_dir / "run.json").write_text(json.dumps(data))
    assert project.get_run(run.id).status is RunStatus.RUNNING
    data["started_boot_s"] -= 3600.0  # really an hour ago: a start that never happened
    (run.run_dir / "run.json").write_text(json.dumps(data))
    assert project.get_run(run.id).status is RunStatus.LOST
