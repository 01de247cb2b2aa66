"""`python -m autotrain_tui.core.slurm.escalate RUN_DIR`: the stop's second half on SLURM.

Started detached by a stop (`backend.request_stop`), it waits out the run's grace period
(`stop_requested_at` + `stop_grace_s` in run.json), watching the job, and cancels it if it is
still alive then: the recipe had its SIGTERM and time to checkpoint. It ends as soon as the
run's end is recorded, so a run that stops in time costs one short-lived process.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunStatus, read_run
from autotrain_tui.core.slurm import commands
from autotrain_tui.core.slurm.state import reconcile_slurm

POLL_S = 1.0


def main(run_dir: str) -> int:
    path = Path(run_dir)
    record = read_run(path)
    job = record.slurm.job_id if record.slurm else None
    if job is None or record.stop_requested_at is None:
        return 0
    deadline = record.stop_requested_at + (record.stop_grace_s or 0.0)
    while time.time() < deadline:
        record = reconcile_slurm(read_run(path))
        if record.status is not RunStatus.RUNNING or record.slurm is None:
            return 0
        if record.slurm.job_id != job:
            return 0  # resumed as another job meanwhile: not ours to cancel
        time.sleep(POLL_S)
    try:
        commands.scancel(job)
    except ManagerError as error:
        print(f"escalate: {error}", file=sys.stderr)
        return 1
    print(f"escalate: job {job} cancelled after the grace period", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
