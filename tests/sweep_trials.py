"""A search sweep made of real runs, for the tests of the sweep view, `sweeps SWEEP` and HParams.

The sweep engine (Optuna, the pruner) is not needed to test what reads a sweep: the contract
is files (docs/run-directory.md, "Trials of a search sweep"). `make_search_sweep` launches
real tiny digits runs as a grid through `Project.sweep` (one process each, all at once), waits
for them, then writes what the driver adds: `trial` {number, params} in each run.json, status
`pruned` for the trial it would have pruned (the worst), and `runs/.sweeps/<id>/sweep.json`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from autotrain_tui.core import Project, trust
from autotrain_tui.core.gpus import FAKE_GPU_USED_ENV, FAKE_GPUS_ENV
from autotrain_tui.core.runs import RunStatus, modify_run
from autotrain_tui.core.trials import sweep_json_path
from tests.core.support import TINY_CONFIG, kill_project_processes, wait_for
from tests.helpers import REPO

LEARNING_RATES = ("0.05", "0.005", "0.0005")
EPOCHS = 2
PRUNER = {"name": "asha", "min_resource": 1, "reduction_factor": 2, "max_resource": EPOCHS}


@dataclass(frozen=True)
class SearchSweep:
    root: Path
    sweep_id: str
    run_ids: tuple[str, ...]  # by trial number
    pruned: str  # the run marked pruned


def make_search_sweep(root: Path, xdg_config: Path) -> SearchSweep:
    """Three real 2-epoch digits runs of one sweep, rewritten into a search sweep's trials."""
    (root / "configs").mkdir(parents=True)
    (root / "configs" / "tiny.yaml").write_text(TINY_CONFIG)
    (root / "runs").mkdir()
    (root / "runs" / ".queue.json").write_text(json.dumps({"max_concurrent": 3}))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
        env.setenv("XDG_CONFIG_HOME", str(xdg_config))
        env.setenv(FAKE_GPUS_ENV, "0")
        env.delenv(FAKE_GPU_USED_ENV, raising=False)
        trust.trust_project(root)
        project = Project(root)
        try:
            summary = project.sweep(
                "tiny",
                [f"optimizer.lr={','.join(LEARNING_RATES)}", f"trainer.max_epochs={EPOCHS}"],
            )
            wait_for(
                lambda: project.get_sweep(summary.id).count(RunStatus.COMPLETED) == 3,
                what="the sweep's three runs to complete",
            )
        finally:
            kill_project_processes(root)
    records = {r.id: r for r in project.list_runs(sweep=summary.id)}
    run_ids = summary.run_ids
    finals = [_final_acc(records[i].metrics_jsonl) for i in run_ids]
    pruned = run_ids[finals.index(min(finals))]
    for number, run_id in enumerate(run_ids):
        params = {"optimizer.lr": LEARNING_RATES[number]}

        def add_trial(record, number=number, params=params, run_id=run_id):  # type: ignore[no-untyped-def]
            extra = {**record.extra, "trial": {"number": number, "params": params}}
            status = RunStatus.PRUNED if run_id == pruned else record.status
            return record.replace(extra=extra, status=status)

        modify_run(records[run_id].run_dir, add_trial)
    path = sweep_json_path(project.runs_dir, summary.id)
    path.parent.mkdir(parents=True)
    definition = {
        "version": 1,
        "id": summary.id,
        "config": "configs/tiny.yaml",
        "overrides": [f"trainer.max_epochs={EPOCHS}"],
        "kind": "search",
        "space": {"optimizer.lr": "loguniform(1e-4,1e-1)"},
        "trials": 3,
        "metric": "val/acc",
        "mode": "max",
        "pruner": PRUNER,
        "concurrency": 3,
        "backend": "local",
        "seed": 0,
        "created_at": records[run_ids[0]].created_at,
    }
    path.write_text(json.dumps(definition))
    return SearchSweep(root, summary.id, tuple(run_ids), pruned)


def _final_acc(metrics: Path) -> float:
    values = [
        e["metrics"]["val/acc"]
        for e in map(json.loads, metrics.read_text().splitlines())
        if "val/acc" in e.get("metrics", {})
    ]
    return values[-1]
