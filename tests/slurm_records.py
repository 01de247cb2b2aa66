"""SLURM runs' `run.json`, written by tests of what the runs list, the dashboard and
`autotrain-tui runs` show.

The records stand for what the SLURM backend (autotrain_tui/core/slurm) writes: `backend`
"slurm", no pid (the recipe runs on a node), and the `slurm` object the launcher fills at
submission and every poll updates (docs/run-directory.md, contract version 3). The real
backend on the test cluster is covered by tests/slurm/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from autotrain_tui.core.slurm.record import SlurmInfo

_LOCAL_ONLY = (
    "pid",
    "pgid",
    "create_time",
    "start_ticks",
    "supervisor_pid",
    "supervisor_create_time",
    "supervisor_start_ticks",
    "boot_id",
    "started_boot_s",
)


def make_slurm_run(
    run_dir: Path, info: SlurmInfo, *, live: bool | None = None, started_at: float | None = None
) -> None:
    """Turn the run in `run_dir` (its `run.json` already written) into a SLURM run with
    `info`. A live one (status `running`) is given a start time of now (or `started_at`, a
    few seconds before): the backend leaves a run as it is while no controller answers, and
    while its job is not listed yet within 30 s of its submission (core/slurm/state.py), so
    these made-up jobs stay live."""
    path = run_dir / "run.json"
    data = json.loads(path.read_text())
    for key in _LOCAL_ONLY:
        data.pop(key, None)
    data.update(version=3, backend="slurm", slurm=info.to_json())
    if live if live is not None else data.get("status") == "running":
        now = time.time() if started_at is None else started_at
        data.update(status="running", started_at=now, created_at=now - 1, ended_at=None)
    path.write_text(json.dumps(data))
