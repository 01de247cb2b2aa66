"""The `slurm` object of `run.json` (contract version 3): round trip, and a damaged one
named by the listing like any other bad field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autotrain_tui.core.listing import scan_runs
from autotrain_tui.core.runs import RUN_DIR_VERSION, RunRecord, RunStatus, read_run, write_run
from autotrain_tui.core.slurm.record import SlurmInfo


def test_a_slurm_record_round_trips_through_run_json(tmp_path: Path) -> None:
    run_dir = tmp_path / "r1"
    run_dir.mkdir()
    info = SlurmInfo(job_id="42", jobs=("41", "42"), state="PENDING", reason="Resources")
    write_run(
        RunRecord(id="r1", run_dir=run_dir, status=RunStatus.RUNNING, backend="slurm", slurm=info)
    )
    data = json.loads((run_dir / "run.json").read_text())
    assert data["version"] == RUN_DIR_VERSION == 3
    assert data["backend"] == "slurm"
    assert data["slurm"]["jobs"] == ["41", "42"]
    back = read_run(run_dir)
    assert back.slurm == info
    assert back.slurm is not None and back.slurm.shown_state == "PENDING (Resources)"


def test_a_local_record_reads_as_local_without_slurm(tmp_path: Path) -> None:
    run_dir = tmp_path / "r2"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(json.dumps({"version": 2, "id": "r2", "status": "completed"}))
    record = read_run(run_dir)
    assert (record.backend, record.slurm) == ("local", None)


@pytest.mark.parametrize(
    ("slurm", "named"),
    [
        ("42", "'slurm' should be an object"),
        ({"jobs": "42"}, "'slurm.jobs'"),
        ({"job_id": 42}, "'slurm.job_id'"),
    ],
)
def test_a_damaged_slurm_object_is_a_named_problem(
    tmp_path: Path, slurm: object, named: str
) -> None:
    runs = tmp_path / "runs"
    (runs / "r3").mkdir(parents=True)
    (runs / "r3" / "run.json").write_text(
        json.dumps({"id": "r3", "status": "running", "slurm": slurm})
    )
    listing = scan_runs(runs, reconcile_dead=False)
    assert listing.records == []
    assert len(listing.problems) == 1 and named in listing.problems[0].message
