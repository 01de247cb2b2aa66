"""A search budget run twice: as ASHA (the pruner stops weak trials) and as a full grid.

    python bench/sweeps.py [--trials 16] [--epochs 9] [--concurrency 2]

First an ASHA search sweep on digits through the manager (TPE sampler, successive halving
over epochs, eta 3, 2 trials at a time, CPU); then the very points it sampled, each trained to
max_epochs as plain runs (the grid that spends the same search budget without pruning), with
the same concurrency. Prints, for each: total epochs trained (validations in the runs'
metrics.jsonl), wall time, and the best val/acc found. Target: ASHA's best within 1 point of
the grid's with at most half the epochs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autotrain_tui.core import Project, RunStatus, trust
from autotrain_tui.core import search_sweep as ss
from autotrain_tui.core.queue import QueueSettings
from autotrain_tui.core.runs import RunRecord
from tests.core.support import kill_project_processes, make_root

CONFIG = """\
project: {name: bench, seed: 0}
data: {_target_: digits, val_fraction: 0.2}
dataloader: {batch_size: 64}
model: {_target_: mlp, hidden: [64]}
optimizer: {_target_: adamw, lr: 3.0e-3}
trainer: {max_epochs: 9, log_every_n_steps: 10, accelerator: cpu}
"""
SPACE = [
    "optimizer.lr=loguniform(1e-5,1e-1)",
    "model.hidden=[16],[64],[256]",
    "model.dropout=uniform(0,0.6)",
]


def epochs_and_best(record: RunRecord) -> tuple[int, float | None]:
    """Validations run (one per epoch trained) and the best val/acc, from metrics.jsonl."""
    values = []
    for line in record.metrics_jsonl.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        metrics = event.get("metrics") or {}
        if "val/acc" in metrics:
            values.append(float(metrics["val/acc"]))
    return len(values), max(values, default=None)


def summarise(name: str, records: list[RunRecord], wall_s: float) -> dict:
    epochs, bests = 0, []
    for record in records:
        n, best = epochs_and_best(record)
        epochs += n
        if best is not None:
            bests.append(best)
    pruned = sum(r.status is RunStatus.PRUNED for r in records)
    return {
        "name": name,
        "runs": len(records),
        "pruned": pruned,
        "epochs": epochs,
        "wall_s": wall_s,
        "best": max(bests, default=float("nan")),
    }


def wait(project: Project, ids: set[str], timeout_s: float) -> list[RunRecord]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        records = [r for r in project.list_runs() if r.id in ids]
        if len(records) == len(ids) and all(r.status.is_finished for r in records):
            return records
        time.sleep(0.5)
    raise SystemExit(f"the runs did not finish within {timeout_s:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sweeps-bench-") as tmp:
        root = make_root(Path(tmp), "bench.yaml", CONFIG)
        trust.trust_project(root)
        project = Project(root)
        project.set_queue_settings(QueueSettings(max_concurrent=args.concurrency))
        try:
            start = time.monotonic()
            settings = ss.SweepSettings(
                trials=args.trials, concurrency=args.concurrency, metric="val/acc", seed=0
            )
            items = [*SPACE, f"trainer.max_epochs={args.epochs}"]
            sweep_id = project.search_sweep("bench", items, settings)
            directory = ss.sweep_dir(project.runs_dir, sweep_id)
            deadline = time.monotonic() + 3600
            while not ss.read_state(directory).get("finished_at"):
                if time.monotonic() > deadline:
                    raise SystemExit("the ASHA sweep did not finish within an hour")
                time.sleep(0.5)
            asha_runs = project.list_runs(sweep=sweep_id)
            asha_records = wait(project, {r.id for r in asha_runs}, 120)
            asha = summarise("ASHA", asha_records, time.monotonic() - start)

            start = time.monotonic()
            ids = set()
            for record in sorted(asha_records, key=lambda r: r.extra["trial"]["number"]):
                overrides = list(record.overrides)  # fixed + the trial's sampled params
                ids.add(project.launch("bench", overrides, queue=True, check=False).id)
            grid_records = wait(project, ids, 3600)
            grid = summarise("grid", grid_records, time.monotonic() - start)
        finally:
            kill_project_processes(root)
    print(f"{args.trials} points, max_epochs {args.epochs}, {args.concurrency} at a time, CPU")
    print(f"{'':6}{'runs':>6}{'pruned':>8}{'epochs':>8}{'wall s':>9}{'best val/acc':>14}")
    for row in (grid, asha):
        print(
            f"{row['name']:6}{row['runs']:>6}{row['pruned']:>8}{row['epochs']:>8}"
            f"{row['wall_s']:>9.1f}{row['best']:>14.4f}"
        )
    share = asha["epochs"] / grid["epochs"] if grid["epochs"] else float("nan")
    gap = 100 * (grid["best"] - asha["best"])
    print(f"ASHA: {share:.0%} of the grid's epochs; best {gap:+.2f} points below the grid's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
