"""`autotrain-tui control`: steering a real running run through its control/ directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autotrain_tui.core import Project, steering
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord, RunStatus, read_run, write_run
from tests.core.support import metrics_steps, wait_for


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autotrain_tui.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_control_sets_lr_refuses_a_bad_value_and_stops_at_epoch_end(
    real_project: Project,
) -> None:
    record = real_project.launch("configs/tiny.yaml", ["trainer.max_epochs=300"])
    wait_for(lambda: metrics_steps(record.run_dir), what="the first logged step")
    root = real_project.root

    halve = cli(root, "control", record.id, "lr=x0.5", "--json")
    assert halve.returncode == 0, halve.stderr
    payload = json.loads(halve.stdout)
    assert (payload["run"], payload["command"], payload["value"]) == (record.id, "lr", "x0.5")
    ack = payload["ack"]
    assert ack["id"] == payload["id"] and ack["status"] == "applied"
    assert ack["value"] == 1.5e-3  # 3e-3 (no scheduler) halved
    event = next(
        r
        for r in map(json.loads, record.metrics_jsonl.read_text().splitlines())
        if r.get("event") == "control"
    )
    assert (event["id"], event["step"], event["previous"]) == (payload["id"], ack["step"], 3e-3)

    # Refused here, before anything is written: one line, the fix in it.
    files = sorted((record.run_dir / "control").iterdir())
    bad = cli(root, "control", record.id, "lr=20")
    assert bad.returncode == 1
    assert bad.stderr == "autotrain-tui: error: lr=20: lr 20 is outside 1e-08..10\n"
    typo = cli(root, "control", record.id, "lrate=1")
    assert typo.returncode == 1
    assert "unknown control command 'lrate'; use one of: lr=3e-4" in typo.stderr
    assert sorted((record.run_dir / "control").iterdir()) == files

    stop = cli(root, "control", record.id, "stop-epoch")
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.startswith(f"{record.id}: stop: applied after step ")
    ended = wait_for(
        lambda: (r := real_project.get_run(record.id)).status.is_finished and r,
        what="the run to stop",
    )
    assert (ended.status, ended.exit_code) == (RunStatus.STOPPED, 3)
    end = json.loads(record.metrics_jsonl.read_text().splitlines()[-1])
    steps_per_epoch = 12  # 1,437 samples in batches of 128
    assert end["status"] == "stopped" and end["step"] % steps_per_epoch == 0

    late = cli(root, "control", record.id, "checkpoint")
    assert late.returncode == 1
    assert late.stderr == (
        f"autotrain-tui: error: {record.id} is stopped: only a running run can be steered\n"
    )


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ("lr=abc", "lr=abc: lr must be a number, not 'abc'"),
        ("lr=", "lr=: lr needs a value, e.g. lr=3e-4 or lr=x0.5"),
        ("lr=x0", "lr=x0: the lr factor 0 is outside 0.0001..10000"),
        ("lr=nan", "lr=nan: lr must be a finite number, not 'nan'"),
        ("max_epochs=2.5", "max_epochs=2.5: max_epochs must be a whole number, not '2.5'"),
        ("max_epochs=0", "max_epochs=0: max_epochs must be at least 1, not 0"),
        ("patience=-1", "patience=-1: patience must be at least 0, not -1"),
        ("checkpoint=now", "checkpoint=now: checkpoint takes no value (got 'now')"),
        ("stop", "unknown control command 'stop'; use one of: lr=3e-4 | lr=x0.5 | checkpoint"),
    ],
)
def test_a_bad_request_is_one_line_naming_the_fix(request_text: str, message: str) -> None:
    with pytest.raises(ManagerError) as caught:
        steering.parse_request(request_text)
    assert str(caught.value).startswith(message)


def test_requests_parse_to_the_protocols_values() -> None:
    assert steering.parse_request("lr=3e-4") == ("lr", 3e-4)
    assert steering.parse_request("LR=X0.5") == ("lr", "x0.5")
    assert steering.parse_request("stop-epoch") == ("stop", None)
    assert steering.parse_request("max_epochs=20") == ("max_epochs", 20)
    assert steering.parse_request("patience=0") == ("patience", 0)


@pytest.mark.parametrize(
    ("status", "pid", "message"),
    [
        (RunStatus.QUEUED, None, "r1 is queued: only a running run can be steered"),
        (RunStatus.RUNNING, None, "r1 is starting; steer it once its recipe runs"),
    ],
)
def test_a_run_without_a_recipe_process_is_not_sent_anything(
    tmp_path: Path, status: RunStatus, pid: int | None, message: str
) -> None:
    """A command older than the recipe's process would be acked `expired`: refuse it now."""
    run_dir = tmp_path / "r1"
    run_dir.mkdir()
    write_run(RunRecord(id="r1", run_dir=run_dir, status=status, pid=pid))
    with pytest.raises(ManagerError, match=message):
        steering.send(read_run(run_dir), "lr", 1e-3)
    assert not (run_dir / "control").exists()
