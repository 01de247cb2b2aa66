"""The queue against fake GPUs (the same interface as NVML): order, assignment, release.

Runs here use the stand-in recipe (tests/core/standin), a real process that starts in
milliseconds and sleeps until stopped, so queue behaviour is tested without training cost.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from autotrain_tui.core import ManagerError, QueueSettings, RunStatus
from autotrain_tui.core.gpus import FakeGpuInventory
from autotrain_tui.core.groups import kill_group_and_wait
from autotrain_tui.core.queue import GPU_LEDGER, free_gpus, plan_starts, read_ledger
from autotrain_tui.core.runs import RunRecord, supervisor_alive
from tests.core.support import standin_project, wait_for


def _queued(run_id: str, gpus: int, order: float) -> RunRecord:
    return RunRecord(
        id=run_id,
        run_dir=Path(run_id),
        status=RunStatus.QUEUED,
        gpus_requested=gpus,
        queue_order=order,
        created_at=order,
    )


@pytest.mark.parametrize(
    ("asks", "free", "running", "limit", "expected"),
    [
        ([1, 1, 1], [0, 1], 0, 8, [("a", (0,)), ("b", (1,))]),
        ([2, 1], [3], 0, 8, []),  # the head does not fit: nothing jumps it
        ([1, 2, 1], [0, 1, 2], 0, 8, [("a", (0,)), ("b", (1, 2))]),
        ([0, 0, 0], [], 1, 2, [("a", ())]),  # CPU only: the concurrency limit rules
        ([1, 1], [0, 1], 2, 2, []),
    ],
)
def test_plan_starts_is_fifo_and_never_overcommits(
    asks: list[int],
    free: list[int],
    running: int,
    limit: int,
    expected: list[tuple[str, tuple[int, ...]]],
) -> None:
    queued = [
        _queued(name, n, float(i)) for i, (name, n) in enumerate(zip("abc", asks, strict=False))
    ]
    plan = plan_starts(list(reversed(queued)), free, running, limit)
    assert [(p.run.id, p.gpus) for p in plan] == expected


@pytest.mark.parametrize(("threshold", "expected"), [(1024.0, [1, 3]), (8000.0, [0, 1, 3])])
def test_gpu_used_outside_the_project_counts_as_taken(
    threshold: float, expected: list[int]
) -> None:
    inventory = FakeGpuInventory(4, used_mib={0: 5000.0, 1: 300.0})
    inventory.lost.add(2)  # a GPU that stopped answering is never handed out
    assert free_gpus(inventory, assigned=set(), threshold_mib=threshold) == expected


def test_launch_without_queue_refuses_when_gpus_are_taken(
    standin_root: Path, fake_gpus: Callable[..., None]
) -> None:
    fake_gpus(1)
    project = standin_project(standin_root)
    first = project.launch("standin", gpus=1)
    assert first.status is RunStatus.RUNNING and first.gpus == (0,)
    with pytest.raises(ManagerError, match=r"^1 GPU\(s\) asked, 0 free now; use --queue"):
        project.launch("standin", gpus=1)
    assert [r.id for r in project.list_runs()] == [first.id]  # nothing left behind
    with pytest.raises(
        ManagerError, match=r"^standin.yaml asks for 2 GPU\(s\); this machine has 1$"
    ):
        project.launch("standin", gpus=2, queue=True)


def test_queued_runs_start_in_order_as_runs_end_with_no_manager(
    standin_root: Path, fake_gpus: Callable[..., None]
) -> None:
    fake_gpus(2)
    project = standin_project(standin_root)
    a = project.launch("standin", gpus=2, queue=True)
    b = project.launch("standin", gpus=1, queue=True)
    c = project.launch("standin", gpus=1, queue=True)
    d = project.launch("standin", gpus=1, queue=True)
    assert [project.get_run(r.id).status for r in (a, b, c, d)] == [RunStatus.RUNNING] + [
        RunStatus.QUEUED
    ] * 3
    project.move_to_front(d.id)

    project.stop(a.id, wait=False)  # a's supervisor frees both GPUs and starts the next ones
    wait_for(lambda: project.get_run(d.id).status is RunStatus.RUNNING, what="d to start")
    wait_for(lambda: project.get_run(b.id).status is RunStatus.RUNNING, what="b to start")
    assert project.get_run(c.id).status is RunStatus.QUEUED
    gpus = {project.get_run(d.id).gpus, project.get_run(b.id).gpus}
    assert gpus == {(0,), (1,)}
    wait_for((d.run_dir / "env.json").exists, what="d to be up")
    env = json.loads((d.run_dir / "env.json").read_text())
    assert env["CUDA_VISIBLE_DEVICES"] == ",".join(map(str, project.get_run(d.id).gpus))
    assert sorted(read_ledger(project.runs_dir)) == sorted([b.id, d.id])


def test_two_managers_never_assign_the_same_gpu(
    standin_root: Path, fake_gpus: Callable[..., None]
) -> None:
    fake_gpus(3)
    project = standin_project(standin_root)
    project.set_queue_settings(QueueSettings(max_concurrent=10))
    script = textwrap.dedent(f"""
        from autotrain_tui.core import Project
        project = Project({str(standin_root)!r}, recipe_module="standin_recipe")
        for _ in range(4):
            project.launch("standin", gpus=1, queue=True)
    """)
    managers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert [m.wait(timeout=120) for m in managers] == [0, 0]
    runs = project.list_runs()
    running = [r for r in runs if r.status is RunStatus.RUNNING]
    assert len(runs) == 8 and len(running) == 3
    assert sorted(g for r in running for g in r.gpus) == [0, 1, 2]


def test_a_crashed_run_does_not_leak_its_gpu(
    standin_root: Path, fake_gpus: Callable[..., None]
) -> None:
    fake_gpus(1)
    project = standin_project(standin_root)
    a = project.launch("standin", gpus=1)
    b = project.launch("standin", gpus=1, queue=True)
    running = wait_for(lambda: (r := project.get_run(a.id)).pid and r, what="a's pid")
    # Crash everything of run a: its supervisor and its process group, with no goodbye.
    assert running.supervisor_pid is not None and running.pgid is not None
    subprocess.run(["kill", "-9", str(running.supervisor_pid)], check=True)
    assert kill_group_and_wait(running) == []
    # SIGKILL lands asynchronously: wait until the supervisor is really gone.
    wait_for(lambda: not supervisor_alive(running), what="the supervisor to die")

    started = project.advance_queue()  # a manager that starts advances the queue
    assert [r.id for r in started] == [b.id] and started[0].gpus == (0,)
    lost = project.get_run(a.id)
    assert lost.status is RunStatus.LOST and lost.exit_code is None


def test_queue_settings_are_validated(standin_root: Path) -> None:
    project = standin_project(standin_root)
    with pytest.raises(ManagerError, match=r"^max concurrent runs must be at least 1, not 0$"):
        project.set_queue_settings(QueueSettings(max_concurrent=0))
    project.set_queue_settings(QueueSettings(max_concurrent=3, outside_memory_threshold_mib=10))
    assert project.queue_settings == QueueSettings(3, 10.0)


def test_an_empty_queue_asks_the_gpus_nothing(tmp_path: Path) -> None:
    # The UI advances the queue every few seconds; with nothing queued, no NVML query.
    from autotrain_tui.core.queue import advance_queue
    from autotrain_tui.core.runs import write_run

    class CountingInventory(FakeGpuInventory):
        asked = 0

        def gpu_count(self) -> int:
            CountingInventory.asked += 1
            return super().gpu_count()

        def memory_used_mib(self, index: int) -> float | None:
            CountingInventory.asked += 1
            return super().memory_used_mib(index)

    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    run = _queued("q1", 1, 1.0).replace(status=RunStatus.COMPLETED, run_dir=runs_dir / "q1")
    run.run_dir.mkdir()
    write_run(run)
    starts: list[RunRecord] = []
    assert advance_queue(runs_dir, CountingInventory(2), starts.append) == []
    assert CountingInventory.asked == 0 and starts == []
    assert (runs_dir / GPU_LEDGER).is_file()  # the ledger of running runs is still written
    queued = _queued("q2", 1, 2.0).replace(run_dir=runs_dir / "q2")
    queued.run_dir.mkdir()
    write_run(queued)
    advance_queue(runs_dir, CountingInventory(2), lambda *a: None)
    assert CountingInventory.asked > 0  # something to place: the GPUs are asked


def test_a_pruned_run_frees_its_gpu_for_the_next_queued_run(
    standin_root: Path, fake_gpus: Callable[..., None]
) -> None:
    """A sweep's pruned trial (the recipe's exit 5) is finished for the queue: its GPU goes
    to the next queued run as soon as it ends, with no manager running."""
    fake_gpus(1)
    project = standin_project(standin_root)
    a = project.launch("standin", ["standin.seconds=1", "standin.exit_code=5"], gpus=1)
    b = project.launch("standin", gpus=1, queue=True)
    assert project.get_run(b.id).status is RunStatus.QUEUED  # a holds the only GPU
    wait_for(lambda: project.get_run(b.id).status is RunStatus.RUNNING, what="b to start")
    ended = project.get_run(a.id)
    assert ended.status is RunStatus.PRUNED and ended.exit_code == 5
    assert project.get_run(b.id).gpus == (0,)
    assert sorted(read_ledger(project.runs_dir)) == [b.id]
