"""A real ASHA search sweep on digits: 12 trials, 2 at a time, through the real recipe.

One sweep carries every assertion (the test-time budget): its driver is killed with SIGKILL
mid-sweep and the next manager call (`list_runs`) starts another that reconciles and
continues; the sweep is stopped and resumed whole; and at the end every trial is exactly
one run, the pruned ones ended `pruned` with `last.ckpt`, the study's best is the best run's
best val/acc in its own metrics.jsonl, and no process of the sweep is left.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import optuna
import psutil
import pytest

from autotrain_tui.cli import main
from autotrain_tui.core import Project, RunStatus
from autotrain_tui.core import search_sweep as ss
from autotrain_tui.core.queue import QueueSettings
from autotrain_tui.core.runs import run_is_alive
from autotrain_tui.core.sweep_driver import best_value
from tests.core.support import wait_for

TRIALS = 12
SPACE = ["optimizer.lr=loguniform(1e-4,3e-1)", "model.hidden=[8],[32]", "trainer.max_epochs=3"]


def driver_pid(directory: Path) -> int:
    return int(json.loads((directory / ss.DRIVER_JSON).read_text())["pid"])


def trial_runs(project: Project, sweep_id: str) -> dict[int, list]:
    by_number: dict[int, list] = {}
    for record in project.list_runs(sweep=sweep_id):
        number = ss.trial_number(record)
        assert number is not None, record.id
        by_number.setdefault(number, []).append(record)
    return by_number


@pytest.mark.slow
def test_asha_sweep_prunes_survives_a_killed_driver_and_a_stop(
    real_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = real_project
    project.set_queue_settings(QueueSettings(max_concurrent=2))
    flags = ["--trials", str(TRIALS), "--concurrency", "2", "--metric", "val/acc", "--seed", "1"]
    assert main(["sweep", "tiny", *SPACE, *flags, "--json", "-C", str(project.root)]) == 0
    printed = json.loads(capsys.readouterr().out)["sweep"]
    sweep_id = printed["id"]
    assert printed["trials"] == TRIALS and sweep_id.startswith("sweep-tiny-")
    directory = ss.sweep_dir(project.runs_dir, sweep_id)
    sweep = json.loads((directory / ss.SWEEP_JSON).read_text())
    assert sweep["kind"] == "search" and sweep["mode"] == "max"
    assert sweep["pruner"] == {
        "name": "asha",
        "min_resource": 1,
        "reduction_factor": 3,
        "max_resource": 3,
    }
    assert sweep["space"]["optimizer.lr"] == "loguniform(0.0001,0.3)"
    # Trials start from the config as the sweep started, whatever happens to the file.
    config = project.root / "configs" / "tiny.yaml"
    config.write_text(config.read_text() + "# edited during the sweep\n")

    # SIGKILL the driver once it has launched a few trials; the lock is free at once.
    wait_for(lambda: len(trial_runs(project, sweep_id)) >= 3, what="three trials")
    first = driver_pid(directory)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not psutil.pid_exists(first) or _zombie(first), what="the driver's death")
    # Free once the driver is gone (a child it was forking may hold it for a moment).
    wait_for(lambda: ss.needs_driver(directory), 10, what="the driver's lock to be free")
    project.list_runs()  # any manager call: a new driver takes over
    wait_for(lambda: driver_pid(directory) != first, what="a second driver")
    assert ss.driver_alive(directory)

    # Stop the whole sweep mid-way: the driver exits and asks for nothing more.
    wait_for(lambda: len(trial_runs(project, sweep_id)) >= 6, what="six trials")
    project.stop_sweep(sweep_id, wait=True)
    assert not ss.driver_alive(directory) and not ss.needs_driver(directory)
    paused = trial_runs(project, sweep_id)
    assert all(r.status.is_finished for runs in paused.values() for r in runs)
    project.list_runs()  # a stopped sweep gets no driver
    assert not ss.driver_alive(directory)
    project.resume_sweep(sweep_id)

    wait_for(lambda: ss.read_state(directory).get("finished_at"), 400, what="the sweep's end")
    runs = trial_runs(project, sweep_id)
    assert sorted(runs) == list(range(TRIALS))  # no trial lost
    assert all(len(r) == 1 for r in runs.values())  # and none run twice
    records = {n: r[0] for n, r in runs.items()}

    study = optuna.load_study(
        study_name=sweep_id,
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(directory / ss.STUDY_JOURNAL))
        ),
    )
    trials = study.get_trials()
    assert [t.number for t in trials] == list(range(TRIALS))
    expected = {
        RunStatus.COMPLETED: "COMPLETE",
        RunStatus.PRUNED: "PRUNED",
        RunStatus.STOPPED: "FAIL",  # stopped before its first checkpoint: nothing to resume
        RunStatus.FAILED: "FAIL",
    }
    for trial in trials:
        record = records[trial.number]
        assert trial.state.name == expected[record.status], (trial.number, record.status)
        assert record.extra["trial"] == {
            "number": trial.number,
            "params": trial.user_attrs["overrides"],
        }
        assert set(record.overrides) >= {"trainer.max_epochs=3"}
        assert "edited during" not in record.config_yaml.read_text()
    pruned = [r for r in records.values() if r.status is RunStatus.PRUNED]
    completed = [r for r in records.values() if r.status is RunStatus.COMPLETED]
    assert pruned and completed
    for record in pruned:
        assert record.exit_code == 5 and record.last_checkpoint.is_file()
        end = json.loads(record.metrics_jsonl.read_text().splitlines()[-1])
        assert end["event"] == "end" and end["status"] == "pruned"
        acks = (record.run_dir / "control" / "acks.jsonl").read_text()
        assert '"command":"prune"' in acks
    bests = [best_value(r.metrics_jsonl, "val/acc", "max") for r in completed]
    assert study.best_value == max(b for b in bests if b is not None)

    # Nothing of the sweep is left (the last supervisors exit just after recording the end):
    # no driver, supervisor or recipe.
    root = str(project.root)

    def left() -> list[int]:
        return [
            p.pid
            for p in psutil.process_iter(["cwd"])
            if p.pid != os.getpid() and (p.info.get("cwd") or "").startswith(root)
        ]

    def over() -> bool:
        alive = any(run_is_alive(r) for r in records.values())
        return not alive and not left() and not ss.driver_alive(directory)

    wait_for(over, 30, what="no process of the sweep left")


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
