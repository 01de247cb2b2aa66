"""The trial table of a 1,000-trial sweep, beside a bare `json.loads` of every metrics line.

    python bench/sweep_table.py

Each trial is a run directory with 20 epochs of metrics (25 train steps and one validation
per epoch: 521 lines). Printed: the table built cold (as `autotrain-tui sweeps SWEEP` does,
listing included), built again with the same scanner (the sweep view's refresh, nothing
appended), and the baseline of parsing every line of every metrics.jsonl.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from autotrain_tui.core import Project
from autotrain_tui.core.trials import TrialScanner, sweep_json_path

TRIALS = 1000
EPOCHS = 20
STEPS_PER_EPOCH = 25
SWEEP = "sweep-bench-20251125-094640-beef"


def make_sweep(root: Path) -> None:
    runs = root / "runs"
    for number in range(TRIALS):
        run_dir = runs / f"bench-{number:05d}"
        run_dir.mkdir(parents=True)
        lr = 10 ** (-4 + 3 * number / TRIALS)
        record = {
            "version": 3,
            "id": run_dir.name,
            "status": "completed" if number % 3 else "pruned",
            "sweep": SWEEP,
            "overrides": [f"optimizer.lr={lr:.4g}"],
            "created_at": 1_764_064_000.0 + number,
            "trial": {"number": number, "params": {"optimizer.lr": f"{lr:.4g}"}},
        }
        (run_dir / "run.json").write_text(json.dumps(record))
        lines = [json.dumps({"event": "start", "step": 0, "monitor": "val/acc", "mode": "max"})]
        for epoch in range(EPOCHS):
            for step in range(epoch * STEPS_PER_EPOCH, (epoch + 1) * STEPS_PER_EPOCH):
                metrics = {"train/loss": 1.0 / (step + 1), "lr": lr}
                lines.append(json.dumps({"step": step, "epoch": epoch, "metrics": metrics}))
            acc = 1 - 1.0 / (epoch + 2) - (number % 7) / 100
            val = {"val/loss": 1 - acc, "val/acc": acc}
            lines.append(json.dumps({"step": step, "epoch": epoch, "metrics": val}))
        (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    path = sweep_json_path(runs, SWEEP)
    path.parent.mkdir(parents=True)
    pruner = {"name": "asha", "min_resource": 1, "reduction_factor": 3, "max_resource": 27}
    path.write_text(json.dumps({"metric": "val/acc", "mode": "max", "pruner": pruner}))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_sweep(root)
        project = Project(root)
        scanner = TrialScanner()
        start = time.perf_counter()
        table = project.sweep_trials(SWEEP, scanner)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        project.sweep_trials(SWEEP, scanner)
        warm = time.perf_counter() - start
        start = time.perf_counter()
        for path in (root / "runs").glob("*/metrics.jsonl"):
            for line in path.read_text().splitlines():
                json.loads(line)
        baseline = time.perf_counter() - start
        assert len(table.trials) == TRIALS and table.best is not None
        print(f"trial table, {TRIALS} trials x {EPOCHS} epochs:")
        print(f"  cold (sweeps SWEEP)          {cold:6.3f} s")
        print(f"  refresh, nothing new (view)  {warm:6.3f} s")
        print(f"  baseline: json.loads of every line  {baseline:6.3f} s")


if __name__ == "__main__":
    main()
