"""The rules a starting sweep driver applies to the trials an earlier driver left."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotrain_tui.core import Project
from autotrain_tui.core.runs import RunStatus
from autotrain_tui.core.supervisor import final_status
from autotrain_tui.core.sweep_reconcile import (
    COMPLETE,
    FAIL,
    FOLLOW,
    LAUNCH,
    PRUNED,
    WAIT,
    TrialView,
    action_for,
    plan,
)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (RunStatus.QUEUED, FOLLOW),
        (RunStatus.RUNNING, FOLLOW),
        (RunStatus.COMPLETED, COMPLETE),
        (RunStatus.PRUNED, PRUNED),
        (RunStatus.FAILED, FAIL),
        (RunStatus.LOST, FAIL),
        (RunStatus.STOPPED, FAIL),  # stopped by hand while the sweep went on
    ],
)
def test_a_running_trial_follows_its_run(status: RunStatus, action: str) -> None:
    assert action_for(TrialView(3, "RUNNING"), status) == action


def test_a_paused_sweeps_stopped_trial_waits_for_its_resume() -> None:
    assert action_for(TrialView(3, "RUNNING"), RunStatus.STOPPED, sweep_stopped=True) == WAIT


def test_a_trial_asked_but_never_launched_is_launched_once_or_failed() -> None:
    assert action_for(TrialView(4, "RUNNING", has_overrides=True), None) == LAUNCH
    # Killed between asking and recording the point: nothing to launch it with.
    assert action_for(TrialView(4, "RUNNING", has_overrides=False), None) == FAIL


@pytest.mark.parametrize("state", ["COMPLETE", "PRUNED", "FAIL"])
def test_a_told_trial_is_never_told_again(state: str) -> None:
    assert action_for(TrialView(1, state), RunStatus.COMPLETED) == WAIT
    assert action_for(TrialView(1, state), RunStatus.RUNNING) == WAIT


def test_plan_covers_every_unfinished_trial_once() -> None:
    trials = [
        TrialView(0, "COMPLETE"),
        TrialView(1, "RUNNING"),
        TrialView(2, "RUNNING"),
        TrialView(3, "RUNNING"),
        TrialView(4, "PRUNED"),
    ]
    runs = {0: RunStatus.COMPLETED, 1: RunStatus.PRUNED, 2: RunStatus.RUNNING}
    assert plan(trials, runs) == {1: PRUNED, 2: FOLLOW, 3: LAUNCH}


@pytest.mark.parametrize(
    ("code", "stop_requested", "status"),
    [
        (0, False, RunStatus.COMPLETED),
        (3, False, RunStatus.STOPPED),
        (5, False, RunStatus.PRUNED),  # the recipe's `prune` exit
        (1, False, RunStatus.FAILED),
        (-9, True, RunStatus.STOPPED),
    ],
)
def test_the_supervisor_records_a_pruned_exit_as_pruned(
    code: int, stop_requested: bool, status: RunStatus
) -> None:
    assert final_status(code, stop_requested) is status


def test_a_search_sweep_is_known_before_its_first_trial(tmp_path: Path) -> None:
    # `stop --sweep ID` right after `sweep --trials`: its directory names it.
    root = tmp_path / "project"
    (root / "configs").mkdir(parents=True)
    directory = root / "runs" / ".sweeps" / "sweep-tiny-1"
    directory.mkdir(parents=True)
    (directory / "sweep.json").write_text("{}")
    (directory / "state.json").write_text('{"stopped_at": 1.0}')  # paused: no driver
    assert Project(root).resolve_sweep_id("sweep-tiny") == "sweep-tiny-1"
