"""How a SLURM run's job reads on screen: the short forms the runs list, the dashboard and
`autotrain-tui runs` share, so the three say the same thing in the same words (Textual-free:
the command line imports it).

A SLURM run's `status` stays `running` from submission to its end, also while the scheduler
keeps it PENDING; what the user wants to see then is the scheduler's view of the last poll
(`PENDING (Resources)`, `RUNNING`), and the time its limit leaves. Once the run has ended
that view is stale, so only the job id is shown.
"""

from __future__ import annotations

from autotrain_tui.core.runs import RunRecord
from autotrain_tui.core.slurm.record import SlurmInfo
from autotrain_tui.ui.format import duration


def slurm_info(record: RunRecord) -> SlurmInfo | None:
    """The record's `slurm` object when it is a SLURM run (an empty one if not yet filled)."""
    if record.backend != "slurm":
        return None
    return record.slurm or SlurmInfo()


def time_left_s(text: str | None) -> float | None:
    """Seconds in squeue's `%L` (`59:58`, `1:59:58`, `2-03:04:05`); None for `UNLIMITED`,
    `NOT_SET`, `INVALID` or anything else that is not a time."""
    if not text:
        return None
    days, _, clock = text.strip().rpartition("-")
    parts = clock.split(":")
    if not days.isdigit() and days != "":
        return None
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    if len(parts) == 1:  # a bare number is minutes in SLURM's time syntax
        seconds *= 60
    return float(seconds + int(days or 0) * 86400)


def time_left_text(info: SlurmInfo, *, coarse: bool = False) -> str | None:
    """`2h07m left`, `no time limit`, or None when the poll gave nothing usable; `coarse`
    drops the seconds after the first minute, as lists do."""
    if info.time_left is None:
        return None
    if info.time_left.strip().upper() == "UNLIMITED":
        return "no time limit"
    seconds = time_left_s(info.time_left)
    return None if seconds is None else f"{duration(seconds, coarse=coarse)} left"


def live_state(record: RunRecord) -> str | None:
    """The scheduler's view of a live SLURM run: `PENDING (Resources)`, `RUNNING 2h07m
    left`, `SUBMITTED` before the first poll; None for local or finished runs, and for one
    not submitted yet."""
    info = slurm_info(record)
    if info is None or not record.is_live or info.job_id is None:
        return None  # a SLURM run being submitted is `queued` for a moment: say that
    shown = info.shown_state
    left = time_left_text(info, coarse=True) if info.state == "RUNNING" else None
    return f"{shown} {left}" if left else shown


def job_text(info: SlurmInfo) -> str:
    """`slurm 123`, or `slurm (not submitted)` for a run that has no job id yet."""
    return f"slurm {info.job_id}" if info.job_id else "slurm (not submitted)"


def dashboard_line(record: RunRecord) -> str | None:
    """The dashboard's SLURM line, most telling first (a narrow terminal cuts its end): job,
    live state, time left, node, requeues, earlier jobs, cluster; None for a local run."""
    info = slurm_info(record)
    if info is None:
        return None
    parts = [job_text(info)]
    if record.is_live and info.job_id is not None:
        parts.append(info.shown_state)
        left = time_left_text(info)
        if left and info.state == "RUNNING":
            parts.append(left)
        elif left and left.endswith(" left"):  # not started: %L is the whole time limit
            parts.append(f"limit {left.removesuffix(' left')}")
    if info.node and info.node not in ("(null)", ""):
        parts.append(f"node {info.node}")
    if info.restarts:
        parts.append(f"requeued {info.restarts}×")
    earlier = [job for job in info.jobs if job != info.job_id]
    if earlier:
        parts.append("earlier jobs " + " ".join(earlier))
    if info.cluster:
        parts.append(f"cluster {info.cluster}")
    return " · ".join(parts)
