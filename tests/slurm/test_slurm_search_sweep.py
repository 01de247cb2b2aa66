"""A search sweep whose trials are SLURM jobs: `sweep --trials N --slurm` on the test cluster.

The driver runs on this machine (as it would on a login node) and submits each trial through
the SLURM backend; the study learns each trial's outcome from the run directory, as for local
trials. Pruning itself goes through the control channel (files, tested on SLURM in
test_slurm_steering.py); here the pruner is off so every trial's end is known in advance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from autotrain_tui.cli import main
from autotrain_tui.core import Project, RunStatus, trust
from autotrain_tui.core import search_sweep as ss
from autotrain_tui.core.slurm.state import POLLER
from autotrain_tui.core.sweep_driver import best_value
from tests.core.support import TINY_CONFIG, kill_project_processes, make_root, wait_for
from tests.slurm_cluster import SlurmCluster


@pytest.fixture
def project(slurm: SlurmCluster, tmp_path: Path) -> Iterator[Project]:
    root = make_root(tmp_path / "project", "tiny.yaml", TINY_CONFIG)
    trust.trust_project(root)
    POLLER.forget()
    try:
        yield Project(root)
    finally:
        kill_project_processes(root)


@pytest.mark.slow
def test_a_search_sweeps_trials_run_as_slurm_jobs_and_the_study_learns_them(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sweep", "tiny", "optimizer.lr=loguniform(1e-3,1e-1)", "--trials", "3"]
    flags = ["--concurrency", "2", "--pruner", "none", "--metric", "val/acc", "--slurm"]
    assert main([*args, *flags, "--json", "-C", str(project.root)]) == 0
    sweep_id = json.loads(capsys.readouterr().out)["sweep"]["id"]
    directory = ss.sweep_dir(project.runs_dir, sweep_id)
    assert json.loads((directory / ss.SWEEP_JSON).read_text())["backend"] == "slurm"

    def finished() -> bool:
        runs = project.list_runs(sweep=sweep_id)
        ended = len(runs) == 3 and not any(r.is_live for r in runs)
        return ended and not ss.driver_alive(directory)

    wait_for(finished, 240, what="three SLURM trials and the driver's end")
    runs = project.list_runs(sweep=sweep_id)
    assert sorted(ss.trial_number(r) for r in runs) == [0, 1, 2]
    for run in runs:
        assert run.backend == "slurm" and run.slurm is not None and run.slurm.job_id, run.id
        assert run.status is RunStatus.COMPLETED, run.reason
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(directory / ss.STUDY_JOURNAL))
    )
    study = optuna.load_study(study_name=sweep_id, storage=storage)
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    best_run = max(best_value(r.metrics_jsonl, "val/acc", "max") for r in runs)
    assert study.best_value == pytest.approx(best_run)
