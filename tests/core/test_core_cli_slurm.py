"""`autotrain-tui runs` with SLURM runs: the job id, and a live job's state with its reason
and time left, in a table that still fits 80 columns; local runs listed as before.

The SLURM records are written by the test and stand for what the SLURM backend writes
(tests/slurm_records.py); the backend itself is tested on a real cluster in tests/slurm/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from autotrain_tui.cli import main
from autotrain_tui.core.runs import RunRecord, RunStatus, write_run
from autotrain_tui.core.slurm.record import SlurmInfo
from tests.slurm_records import make_slurm_run

PENDING = "digits-20261201-101500-aaaa"
RUNNING = "digits-20261201-101400-bbbb"
DONE = "digits-20261201-101300-cccc"
LOCAL = "digits-20261201-101200-dddd"


def add_run(root: Path, run_id: str, status: RunStatus, created: float, **fields: object) -> Path:
    run_dir = root / "runs" / run_id
    run_dir.mkdir(parents=True)
    write_run(
        RunRecord(
            id=run_id,
            run_dir=run_dir,
            status=status,
            config="configs/digits.yaml",
            created_at=created,
            started_at=created,
            **fields,  # type: ignore[arg-type]
        )
    )
    return run_dir


@pytest.fixture
def slurm_project(standin_root: Path) -> Path:
    now = time.time()
    info = SlurmInfo(job_id="4242", jobs=("4242",), cluster="test", state="PENDING")
    make_slurm_run(
        add_run(standin_root, PENDING, RunStatus.RUNNING, now - 1),
        info.replace(reason="Resources"),
    )
    make_slurm_run(
        add_run(standin_root, RUNNING, RunStatus.RUNNING, now - 2),
        info.replace(job_id="4241", jobs=("4240", "4241"), state="RUNNING", time_left="2:07:09"),
    )
    make_slurm_run(
        add_run(standin_root, DONE, RunStatus.COMPLETED, now - 3, exit_code=0, ended_at=now),
        info.replace(job_id="4239", jobs=("4239",), state="RUNNING", time_left="59:00"),
    )
    add_run(standin_root, LOCAL, RunStatus.COMPLETED, now - 4, exit_code=0, ended_at=now)
    return standin_root


def rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines()}


def test_the_runs_table_shows_job_ids_and_live_states(
    slurm_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "-C", str(slurm_project)]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    assert table["RUN"] == ["RUN", "STATUS", "JOB", "GPUS", "AGE", "EXIT", "SWEEP"]
    assert table[PENDING][1:4] == ["PENDING", "(Resources)", "4242"]
    assert table[RUNNING][1:6] == ["RUNNING", "2h07m", "left", "4241", "-"]
    # Finished: the last poll's state is stale, the outcome is the run's own status.
    assert table[DONE][1:4] == ["completed", "4239", "-"]
    assert table[LOCAL][1:4] == ["completed", "-", "-"]  # no job, no GPUs
    assert max(len(line) for line in out.splitlines()) <= 80


def test_a_table_of_local_runs_only_has_no_job_column(
    standin_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_run(standin_root, LOCAL, RunStatus.COMPLETED, time.time(), exit_code=0)
    assert main(["runs", "-C", str(standin_root)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split() == ["RUN", "STATUS", "GPUS", "AGE", "EXIT", "SWEEP"]


def test_runs_json_carries_the_backend_and_the_slurm_object(
    slurm_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["runs", "--json", "-C", str(slurm_project)]) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)["runs"]}
    assert listed[LOCAL]["backend"] == "local" and listed[LOCAL]["slurm"] is None
    pending = listed[PENDING]
    assert (pending["backend"], pending["status"]) == ("slurm", "running")
    assert pending["slurm"] == {
        "job_id": "4242",
        "jobs": ["4242"],
        "cluster": "test",
        "state": "PENDING",
        "reason": "Resources",
        "node": None,
        "time_left": None,
        "polled_at": None,
        "restarts": 0,
    }
    assert listed[RUNNING]["slurm"]["jobs"] == ["4240", "4241"]
