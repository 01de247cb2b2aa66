"""How the command line shows runs: the table, one line per run, the stable `--json` forms
(docs/cli-json.md) and the listing's problem lines."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from autotrain_tui.cli_parser import PROG
from autotrain_tui.core.listing import RunProblem
from autotrain_tui.core.project import SweepSummary
from autotrain_tui.core.runs import RunRecord
from autotrain_tui.ui.slurm_text import live_state, slurm_info

JSON_VERSION = 1


def run_json(record: RunRecord) -> dict[str, Any]:
    """The stable JSON form of a run: `run.json`'s fields plus `run_dir` (absolute)."""
    data = record.to_json()
    data["run_dir"] = str(record.run_dir)
    return data


def sweep_json(summary: SweepSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "config": summary.config,
        "runs": list(summary.run_ids),
        "counts": dict(summary.counts),
        "created_at": summary.created_at,
    }


def emit_json(payload: Any) -> None:
    print(json.dumps({"version": JSON_VERSION, **payload}, indent=2))


def age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def print_table(records: Sequence[RunRecord]) -> None:
    """One row per run. With SLURM runs listed, a JOB column (their job id), and a live SLURM
    run's STATUS is its job's state (`PENDING (Resources)`, `RUNNING 2h left`)."""
    now = time.time()
    jobs = any(slurm_info(r) is not None for r in records)
    rows = [("RUN", "STATUS", *(("JOB",) if jobs else ()), "GPUS", "AGE", "EXIT", "SWEEP")]
    for r in records:
        if r.gpus:
            gpus = ",".join(map(str, r.gpus))
        else:
            gpus = f"({r.gpus_requested})" if r.gpus_requested else "-"
        slurm = slurm_info(r)
        job = (slurm.job_id or "-") if slurm is not None else "-"
        rows.append(
            (
                r.run_dir.name,  # what a reference resolves by (a copied run keeps its id)
                live_state(r) or r.status.value,
                *((job,) if jobs else ()),
                gpus,
                age(now - r.created_at if r.created_at else None),
                "-" if r.exit_code is None else str(r.exit_code),
                r.sweep or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def say(record: RunRecord) -> None:
    gpus = f" on GPU {','.join(map(str, record.gpus))}" if record.gpus else ""
    job = f" (SLURM job {record.slurm.job_id})" if record.slurm and record.slurm.job_id else ""
    print(f"{record.run_dir.name}  {record.status.value}{gpus}{job}")


def problem_json(problem: RunProblem) -> dict[str, str]:
    return {"entry": problem.name, "message": problem.message}


def report_problems(problems: Sequence[RunProblem]) -> None:
    for problem in problems:
        print(f"{PROG}: warning: {problem.message}", file=sys.stderr)
