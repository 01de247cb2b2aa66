"""What a starting sweep driver does with the trials an earlier driver left behind.

Pure rules over plain values (no optuna, no processes), so each is unit-tested: a driver that
was killed leaves study trials `RUNNING` whose runs may have ended, may still train, or may
never have been created (killed between asking the study for a point and launching it).
Nothing is asked twice and nothing is lost: every trial is told its outcome, followed
again, or launched with the overrides recorded when it was asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from autotrain_tui.core.runs import RunStatus

FOLLOW, LAUNCH, WAIT = "follow", "launch", "wait"
COMPLETE, PRUNED, FAIL = "complete", "pruned", "fail"


@dataclass(frozen=True)
class TrialView:
    """A study trial as the rules need it: optuna's state name and whether its overrides
    were recorded (the driver records them before it launches the run)."""

    number: int
    state: str  # "RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING"
    has_overrides: bool = True


def action_for(
    trial: TrialView, run_status: RunStatus | None, *, sweep_stopped: bool = False
) -> str:
    """The one thing to do for a trial: follow its live run, launch its missing run, tell
    the study how its run ended (complete / pruned / fail), or wait (nothing now)."""
    if trial.state != "RUNNING":
        return WAIT  # told already: a finished trial is never told twice
    if run_status is None:
        return LAUNCH if trial.has_overrides else FAIL
    if run_status.is_live:
        return FOLLOW
    if run_status is RunStatus.COMPLETED:
        return COMPLETE
    if run_status is RunStatus.PRUNED:
        return PRUNED
    if run_status is RunStatus.STOPPED and sweep_stopped:
        return WAIT  # the sweep is paused: resuming it resumes this run, followed again
    return FAIL  # failed, lost, or stopped by hand while the sweep went on


def plan(
    trials: Sequence[TrialView],
    runs: Mapping[int, RunStatus],
    *,
    sweep_stopped: bool = False,
) -> dict[int, str]:
    """`action_for` each unfinished trial, by trial number (finished ones are left out)."""
    actions = {}
    for trial in trials:
        action = action_for(trial, runs.get(trial.number), sweep_stopped=sweep_stopped)
        if action != WAIT:
            actions[trial.number] = action
    return actions
