"""Sweeps: expanding `k=a,b` lists into a grid, and sweeps run, stopped and resumed whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from autotrain_tui.core import ManagerError, Project, RunStatus
from autotrain_tui.core.sweep import expand_grid, split_values
from tests.core.support import standin_project, wait_for


@pytest.mark.parametrize(
    ("overrides", "grid"),
    [
        (["a=1,2"], [["a=1"], ["a=2"]]),
        (["a=1,2", "b=x,y"], [["a=1", "b=x"], ["a=1", "b=y"], ["a=2", "b=x"], ["a=2", "b=y"]]),
        (
            ["a=1", "m.layers=[64,128],[32]"],
            [["a=1", "m.layers=[64,128]"], ["a=1", "m.layers=[32]"]],
        ),
        (["s='x,y',z"], [["s='x,y'"], ["s=z"]]),
    ],
)
def test_expand_grid(overrides: list[str], grid: list[list[str]]) -> None:
    assert expand_grid(overrides) == grid


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["lr"], "not an override (expected key=value): 'lr'"),
        (["lr=1,"], "empty value in sweep override 'lr=1,'"),
        (["=1,2"], "not an override (expected key=value): '=1,2'"),
    ],
)
def test_expand_grid_errors(overrides: list[str], message: str) -> None:
    with pytest.raises(ManagerError) as caught:
        expand_grid(overrides)
    assert str(caught.value) == message


def test_split_values_keeps_nested_commas() -> None:
    assert split_values("{a: 1, b: 2},[1,(2,3)]") == ["{a: 1, b: 2}", "[1,(2,3)]"]


@pytest.mark.slow
def test_sweep_runs_end_to_end_on_cpu(real_project: Project) -> None:
    summary = real_project.sweep("tiny", ["optimizer.lr=1e-3,3e-3", "trainer.max_epochs=1"])
    assert len(summary.run_ids) == 2
    runs = real_project.list_runs(sweep=summary.id)
    assert {r.overrides for r in runs} == {
        ("optimizer.lr=1e-3", "trainer.max_epochs=1"),
        ("optimizer.lr=3e-3", "trainer.max_epochs=1"),
    }
    # One run at a time on a CPU-only machine; the first one's supervisor starts the second.
    assert summary.count(RunStatus.RUNNING) == 1 and summary.count(RunStatus.QUEUED) == 1
    done = wait_for(
        lambda: (
            (s := real_project.get_sweep(summary.id[:14])).count(RunStatus.COMPLETED) == 2 and s
        ),
        what="both sweep runs to complete",
    )
    assert done.counts == (("completed", 2),)
    assert [s.id for s in real_project.list_sweeps()] == [summary.id]
    for run_id in summary.run_ids:
        record = real_project.get_run(run_id)
        launched = YAML(typ="safe").load(record.config_yaml.read_text())
        assert f"optimizer.lr={launched['optimizer']['lr']:.0e}".replace("e-0", "e-") in (
            record.overrides
        )


def test_sweep_stop_and_resume_as_a_whole(standin_root: Path) -> None:
    project = standin_project(standin_root)
    summary = project.sweep("standin", ["x=1,2,3"])
    assert summary.counts == (("queued", 2), ("running", 1))
    first = project.get_run(summary.run_ids[0])
    wait_for((first.run_dir / "env.json").exists, what="the first run to be up")

    stopped = project.stop_sweep(summary.id, wait=True, grace_s=30)
    assert {r.status for r in stopped} == {RunStatus.STOPPED}
    assert project.get_sweep(summary.id).counts == (("stopped", 3),)
    assert project.get_run(summary.run_ids[1]).reason == "stopped while queued"

    resumed = project.resume_sweep(summary.id)
    assert len(resumed) == 3
    statuses = {r.id: r.status for r in resumed}
    assert statuses[first.id] is RunStatus.RUNNING  # from its checkpoint
    assert project.get_run(first.id).command[-2] == "--resume"
    assert "--resume" not in project.get_run(summary.run_ids[1]).command  # never started
    assert sorted(s for s in statuses.values()) == sorted(
        [RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.QUEUED]
    )
    project.stop_sweep(summary.id, kill=True, wait=True)


def test_sweep_needs_a_list(standin_root: Path) -> None:
    project = standin_project(standin_root)
    with pytest.raises(ManagerError, match=r"^a sweep needs at least one override with several"):
        project.sweep("standin", ["x=1"])
