"""`autotrain-tui control`: steering a real running run through its control/ directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from autotrain_tui.core import Project
from autotrain_tui.core.runs import RunStatus
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
