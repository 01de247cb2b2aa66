"""`autotrain-tui sweeps SWEEP`: the trial table of real runs (80 columns, the best row
marked), `--sort`, `--json`, and the listing of sweeps still there without SWEEP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autotrain_tui.cli import main
from autotrain_tui.core.trials import sweep_json_path
from tests.core.test_core_trials import write_trial_run
from tests.sweep_trials import EPOCHS, LEARNING_RATES, SearchSweep


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autotrain_tui.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_sweeps_sweep_prints_the_trial_table(search_sweep: SearchSweep) -> None:
    done = cli(search_sweep.root, "sweeps", search_sweep.sweep_id[:20])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0] == search_sweep.sweep_id
    assert lines[1] == "search · val/acc (max) · ASHA min 1 x2 · 3 trials (2 completed, 1 pruned)"
    assert lines[2].split() == ["#", "STATUS", "lr", "BEST", "EPOCH", "EPOCHS", "RUNG", "RUN"]
    rows = [line.split() for line in lines[3:6]]
    starred = [row for row in rows if row[0] == "*"]
    assert len(starred) == 1
    assert lines[6].startswith("* best val/acc: trial ")
    best_number = int(lines[6].split("trial ")[1].split()[0])
    assert starred[0][1] == str(best_number)
    by_number = {int(row[-8]): row[-8:] for row in rows}  # the star is the only optional cell
    for number, lr in enumerate(LEARNING_RATES):
        row = by_number[number]
        status = "pruned" if search_sweep.run_ids[number] == search_sweep.pruned else "completed"
        assert row[1:3] == [status, lr]
        # 2 epochs validated: rung 1 of min 1 x2; the run's id whole (it fits)
        assert row[5:] == [str(EPOCHS), "1", search_sweep.run_ids[number]]
    # The listing of sweeps, as before.
    listed = cli(search_sweep.root, "sweeps")
    assert listed.stdout == f"{search_sweep.sweep_id}  3 runs (2 completed, 1 pruned)\n"


def test_sweeps_sweep_json_and_sorting(
    search_sweep: SearchSweep, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(search_sweep.root)
    assert main(["sweeps", search_sweep.sweep_id, "--json", "-C", root]) == 0
    payload = json.loads(capsys.readouterr().out)
    sweep = payload["sweep"]
    assert payload["version"] == 1
    assert {k: sweep[k] for k in ("id", "kind", "metric", "mode", "params")} == {
        "id": search_sweep.sweep_id,
        "kind": "search",
        "metric": "val/acc",
        "mode": "max",
        "params": ["optimizer.lr"],
    }
    assert sweep["pruner"] == {"min_resource": 1, "reduction_factor": 2, "max_resource": 2}
    trials = sweep["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2]
    assert [t["run"] for t in trials] == list(search_sweep.run_ids)
    assert [t["params"] for t in trials] == [{"optimizer.lr": lr} for lr in LEARNING_RATES]
    for trial in trials:
        accs = [
            e["metrics"]["val/acc"]
            for e in map(json.loads, (search_sweep.root / "runs" / trial["run"] / "metrics.jsonl")
                         .read_text().splitlines())
            if "val/acc" in e.get("metrics", {})
        ]  # fmt: skip
        assert len(accs) == EPOCHS
        assert trial["best"] == max(accs) and trial["best_epoch"] == accs.index(max(accs)) + 1
        assert (trial["epochs"], trial["rung"]) == (EPOCHS, 1)
    best = max(trials, key=lambda t: t["best"])
    assert sweep["best"] == best["run"] and [t["is_best"] for t in trials].count(True) == 1
    assert next(t for t in trials if t["run"] == search_sweep.pruned)["status"] == "pruned"

    # --sort best: best first under max; --desc: worst first; a param by its header.
    assert main(["sweeps", search_sweep.sweep_id, "--json", "--sort", "best", "-C", root]) == 0
    ranked = [t["best"] for t in json.loads(capsys.readouterr().out)["sweep"]["trials"]]
    assert ranked == sorted(ranked, reverse=True)
    assert main(["sweeps", search_sweep.sweep_id, "--sort", "lr", "--desc", "-C", root]) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[-6] for line in table[3:6]] == ["0.05", "0.005", "0.0005"]

    assert main(["sweeps", search_sweep.sweep_id, "--sort", "speed", "-C", root]) == 1
    assert capsys.readouterr().err == (
        "autotrain-tui: error: no column 'speed': sort by one of trial, status, optimizer.lr, "
        "best, epoch, epochs, rung, run\n"
    )
    assert main(["sweeps", "--sort", "best", "-C", root]) == 2


def test_a_wide_table_still_fits_80_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    sweep = "sweep-a-config-with-a-long-name-20251125-094640-5ea1"
    for i in range(3):
        params = {
            "optimizer.lr": f"0.00012345678{i}",
            "model.hidden": f"[256,128,64,{i}]",
            "data.augment.policy": f"randaugment-{i}-strong",
        }
        write_trial_run(
            runs,
            f"a-config-with-a-long-name-20251125-0946{40 + i}-5ea{i}",
            "completed",
            [0.5 + i / 10, 0.4 + i / 10],
            sweep=sweep,
            created_at=1000.0 + i,
            overrides=[f"{k}={v}" for k, v in params.items()],
            trial={"number": i, "params": params},
        )
    path = sweep_json_path(runs, sweep)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"metric": "val/acc", "mode": "max", "pruner": {"name": "none"}}))
    assert main(["sweeps", sweep[:12], "-C", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    assert lines[2].split()[:5] == ["#", "STATUS", "lr", "hidden", "policy"]
    best = lines[5].split()
    assert best[:6] == ["*", "2", "completed", "0.00012…", "[256,12…", "randaug…"]
    assert best[-5:] == ["0.7000", "1", "2", "-", "…094642-5ea2"]  # no pruner: no rung
