"""Project actions and their error paths: prefixes, remove, clone, run records on disk."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from autotrain_tui.core import (
    AmbiguousRunError,
    InvalidConfigError,
    ManagerError,
    RunIsLiveError,
    RunStatus,
    UnknownRunError,
)
from autotrain_tui.core import runs as runs_module
from autotrain_tui.core.atomic import write_atomic
from autotrain_tui.core.launcher import new_run_id, requested_gpus
from autotrain_tui.core.runs import RunCache, RunRecord, list_runs, read_run, write_run
from tests.core.support import standin_project, wait_for


def _fake_run(runs: Path, run_id: str, status: str = "completed") -> Path:
    run_dir = runs / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("# cloned\nproject:\n  name: x\n")
    (run_dir / "run.json").write_text(
        json.dumps(
            {"version": 1, "id": run_id, "status": status, "created_at": 1.0, "future_key": [1]}
        )
    )
    return run_dir


def test_run_references_by_any_unique_part_and_latest(standin_root: Path) -> None:
    project = standin_project(standin_root)
    older = _fake_run(project.runs_dir, "digits-20260101-000000-aaaa")
    newer = _fake_run(project.runs_dir, "digits-20260101-000000-bbbb")
    data = json.loads((newer / "run.json").read_text())
    (newer / "run.json").write_text(json.dumps({**data, "created_at": 2.0}))
    assert project.resolve_run_id("digits-20260101-000000-a") == older.name
    assert project.resolve_run_id("runs/digits-20260101-000000-bbbb/") == newer.name
    # The tail that tells two runs of one config apart is enough, and so is any unique part.
    assert project.resolve_run_id("bbbb") == newer.name
    assert project.resolve_run_id("0-aa") == older.name
    assert project.resolve_run_id("latest") == newer.name
    assert project.get_run("latest").run_dir == newer
    with pytest.raises(AmbiguousRunError) as ambiguous:
        project.resolve_run_id("digits-2026")
    assert str(ambiguous.value) == (
        "'digits-2026' matches 2 runs: digits-20260101-000000-aaaa, digits-20260101-000000-bbbb;"
        " give more of the name (its last part tells runs apart)"
    )
    with pytest.raises(UnknownRunError) as unknown:
        project.resolve_run_id("zzz")
    assert str(unknown.value) == "no run matches 'zzz'"


def test_run_json_round_trips_unknown_keys(tmp_path: Path) -> None:
    run_dir = _fake_run(tmp_path, "r-1")
    record = read_run(run_dir)
    assert record.status is RunStatus.COMPLETED and record.extra == {"future_key": [1]}
    write_run(record.replace(exit_code=0))
    data = json.loads((run_dir / "run.json").read_text())
    assert data["future_key"] == [1] and data["exit_code"] == 0
    assert [p.name for p in run_dir.iterdir() if p.name.startswith(".run.json")] == []


def test_unknown_status_and_broken_run_dirs_are_tolerated(tmp_path: Path) -> None:
    _fake_run(tmp_path, "a", status="hibernating")
    (tmp_path / "half-created").mkdir()
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "run.json").write_text("{not json")
    assert [(r.id, r.status) for r in list_runs(tmp_path)] == [("a", RunStatus.LOST)]


def test_a_cached_listing_rereads_only_the_run_json_files_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        _fake_run(tmp_path, name)
    reads: list[str] = []
    real_read = runs_module.read_run

    def counted(run_dir: Path) -> RunRecord:  # the real read, counted
        reads.append(run_dir.name)
        return real_read(run_dir)

    monkeypatch.setattr(runs_module, "read_run", counted)
    cache = RunCache()
    first = list_runs(tmp_path, cache=cache)
    assert sorted(reads) == ["a", "b", "c"]
    assert first == list_runs(tmp_path)  # what an uncached listing returns
    reads.clear()
    assert list_runs(tmp_path, cache=cache) == first and reads == []  # nothing changed
    # A writer replaces b's run.json (a new inode); c is deleted; d appears.
    write_run(read_run(tmp_path / "b").replace(status=RunStatus.FAILED, exit_code=1))
    shutil.rmtree(tmp_path / "c")
    _fake_run(tmp_path, "d", status="stopped")
    reads.clear()
    listed = {r.id: r.status for r in list_runs(tmp_path, cache=cache)}
    assert sorted(reads) == ["b", "d"]
    assert listed == {"a": RunStatus.COMPLETED, "b": RunStatus.FAILED, "d": RunStatus.STOPPED}
    assert list_runs(tmp_path, cache=cache) == list_runs(tmp_path)


def test_atomic_write_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    write_atomic(target, "old")
    inode = os.stat(target).st_ino
    write_atomic(target, "new content")
    assert target.read_text() == "new content" and os.stat(target).st_ino != inode
    assert os.listdir(tmp_path) == ["run.json"]


def test_remove_refuses_a_live_run_and_removes_a_finished_one(standin_root: Path) -> None:
    project = standin_project(standin_root)
    record = project.launch("standin")
    with pytest.raises(RunIsLiveError) as caught:
        project.remove(record.id)
    assert str(caught.value) == f"run {record.id} is running; stop it first"
    project.kill(record.id)
    project.remove(record.id[:-2])
    assert not record.run_dir.exists()


def test_clone_config(standin_root: Path) -> None:
    project = standin_project(standin_root)
    _fake_run(project.runs_dir, "r-1")
    path = project.clone_config("r-1", "my_copy")
    assert path == project.configs_dir / "my_copy.yaml"
    assert path.read_text() == "# cloned\nproject:\n  name: x\n"
    with pytest.raises(ManagerError, match=r"^configs/my_copy.yaml already exists$"):
        project.clone_config("r-1", "my_copy.yaml")
    with pytest.raises(ManagerError, match=r"^invalid config name '../evil': use letters"):
        project.clone_config("r-1", "../evil")


def test_resume_error_paths(standin_root: Path) -> None:
    project = standin_project(standin_root)
    done = _fake_run(project.runs_dir, "done-1")
    with pytest.raises(ManagerError, match=r"^run done-1 completed; there is nothing to resume$"):
        project.resume("done-1")
    record = read_run(done)
    write_run(record.replace(status=RunStatus.FAILED, started_at=2.0))
    with pytest.raises(ManagerError, match=r"^run done-1 has no checkpoints/last.ckpt to resume"):
        project.resume("done-1")
    assert project.get_run("done-1").status is RunStatus.FAILED  # left as it was
    live = project.launch("standin")
    with pytest.raises(RunIsLiveError, match=r"is running; nothing to resume$"):
        project.resume(live.id)
    project.kill(live.id)


def test_invalid_config_messages_and_missing_config(standin_root: Path) -> None:
    project = standin_project(standin_root)
    with pytest.raises(InvalidConfigError) as caught:
        project.launch("standin", ["standin.invalid=1"])
    assert caught.value.messages == ["<command line>:1:1: standin.invalid is set"]
    with pytest.raises(ManagerError, match=r"^config not found: nope.yaml$"):
        project.launch("nope.yaml")
    with pytest.raises(ManagerError, match=r"^not an override \(expected key=value\): 'x'$"):
        project.launch("standin", ["x"])


def test_stop_a_finished_run_is_an_error(standin_root: Path) -> None:
    project = standin_project(standin_root)
    record = project.launch("standin", ["standin.seconds=0"])
    wait_for(lambda: not project.get_run(record.id).is_live, what="the run to end")
    with pytest.raises(ManagerError, match=r"is not running \(it is completed\)$"):
        project.stop(record.id)


@pytest.mark.parametrize(
    ("yaml_text", "gpu_count", "expected"),
    [
        ("trainer: {devices: 2}", 4, 2),
        ("trainer: {devices: [0, 3]}", 4, 2),
        ("trainer: {devices: auto}", 4, 1),
        ("trainer: {devices: auto}", 0, 0),
        ("project: {name: x}", 2, 1),
        ("trainer: {devices: -1}", 3, 3),
        ("trainer: {devices: 2, accelerator: cpu}", 4, 0),
        ("trainer: {devices: '1'}", 4, 1),
    ],
)
def test_requested_gpus(yaml_text: str, gpu_count: int, expected: int) -> None:
    assert requested_gpus(yaml_text, gpu_count) == expected


def test_run_id_format() -> None:
    run_id = new_run_id("my config", now=0.0)
    stem, date, clock, suffix = run_id.rsplit("-", 3)
    assert stem == "my-config" and len(date) == 8 and len(clock) == 6 and len(suffix) == 4
    assert isinstance(RunRecord, type)


def test_a_config_that_is_not_utf8_is_named_at_its_line_and_column(standin_root: Path) -> None:
    project = standin_project(standin_root)
    (project.configs_dir / "latin1.yaml").write_bytes(b"project:\n  name: caf\xe9\n")
    for launch in (
        lambda: project.launch("latin1", check=False),  # the UI's launch after its own check
        lambda: project.check_config("latin1"),
    ):
        with pytest.raises(InvalidConfigError) as caught:
            launch()
        assert caught.value.messages == [
            "configs/latin1.yaml:2:12: not UTF-8 text; save the file as UTF-8"
        ]
    assert not project.runs_dir.exists()
