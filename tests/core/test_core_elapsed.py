"""A resumed run's time continues: `elapsed_before_s` in run.json, `RunRecord.elapsed_s`, and
the UI's `run_elapsed` (sidebar and dashboard header) built on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotrain_tui.core import QueueSettings, RunStatus
from autotrain_tui.core.runs import RunRecord
from autotrain_tui.ui.widgets.sidebar import run_elapsed
from tests.core.support import standin_project, wait_for


def _record(**fields: object) -> RunRecord:
    return RunRecord(id="r", run_dir=Path("r"), status=RunStatus.RUNNING).replace(**fields)


@pytest.mark.parametrize(
    ("fields", "now", "expected"),
    [
        ({"status": RunStatus.QUEUED}, 50.0, None),
        ({"started_at": 10.0}, 50.0, 40.0),
        ({"started_at": 10.0, "elapsed_before_s": 100.0}, 50.0, 140.0),
        ({"status": RunStatus.STOPPED, "started_at": 10.0, "ended_at": 30.0}, 50.0, 20.0),
        ({"status": RunStatus.QUEUED, "resumes": 1, "elapsed_before_s": 20.0}, 50.0, 20.0),
        (  # a resume stopped while still queued: no start of its own
            {"status": RunStatus.STOPPED, "resumes": 1, "elapsed_before_s": 20.0, "ended_at": 45},
            50.0,
            20.0,
        ),
    ],
)
def test_elapsed_counts_every_attempt(
    fields: dict[str, object], now: float, expected: float | None
) -> None:
    assert _record(**fields).elapsed_s(now) == expected


def test_run_elapsed_continues_after_a_real_resume(standin_root: Path) -> None:
    project = standin_project(standin_root)
    run = project.launch("standin")
    # The stand-in handles SIGTERM (checkpoint, exit 3) once it has written env.json.
    wait_for(lambda: (run.run_dir / "env.json").exists(), what="the stand-in to train")
    stopped = project.stop(run.id, grace_s=60, wait=True)
    assert stopped.status is RunStatus.STOPPED and stopped.ended_at is not None
    first = run_elapsed(stopped, stopped.ended_at)
    assert first is not None and first > 0

    # Queued behind another run, then cancelled: no time passes for it meanwhile.
    project.set_queue_settings(QueueSettings(max_concurrent=1))
    blocker = project.launch("standin")
    queued = project.resume(run.id, queue=True)
    assert queued.status is RunStatus.QUEUED
    assert run_elapsed(queued, queued.created_at or 0.0) == pytest.approx(first)
    cancelled = project.stop(run.id)
    assert cancelled.status is RunStatus.STOPPED
    assert run_elapsed(cancelled, (cancelled.ended_at or 0.0) + 100.0) == pytest.approx(first)
    project.kill(blocker.id)

    resumed = project.resume(run.id)
    assert resumed.status is RunStatus.RUNNING and resumed.started_at is not None
    # At the instant the second attempt starts, the clock shows the first attempt's time.
    assert run_elapsed(resumed, resumed.started_at) == pytest.approx(first)
    again = project.stop(run.id, grace_s=60, wait=True)
    assert again.ended_at is not None and again.started_at is not None
    total = run_elapsed(again, again.ended_at)
    assert total == pytest.approx(first + (again.ended_at - again.started_at))
    assert again.resumes == 1
