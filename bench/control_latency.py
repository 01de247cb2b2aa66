"""Control-command latency: command written -> acknowledged, while a real run trains.

    python bench/control_latency.py [--commands 30] [--ddp]

Launches the tiny digits run through the manager (CPU), then sends `lr=x1` (a change that
changes nothing, so the run trains the same throughout) at random moments, and prints p50 /
p95 / max of two delays beside the recipe's throttle interval (the bound a command waits
for the next read of control/):
- written -> applied: the command's `time` to its ack's `time` (the recipe's side);
- written -> seen: until `steering.wait_ack`, polling every 0.1 s, returns (what the CLI and
  the UI show). Target: p95 <= 1.5 s.
`--ddp`: the same on two DDP ranks on CPU, where rank 0 plans each read's successor in steps.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from autotrain_tui.core import Project, steering, trust
from recipe.steering import poll_interval
from tests.core.support import TINY_CONFIG, kill_project_processes, make_root, metrics_steps


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=30)
    parser.add_argument("--ddp", action="store_true", help="two DDP ranks on CPU")
    args = parser.parse_args()
    os.environ.pop("AUTOTRAIN_CONTROL_INTERVAL_S", None)  # the default throttle
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="control-bench-") as tmp:
        root = make_root(Path(tmp), "tiny.yaml", TINY_CONFIG)
        trust.trust_project(root)
        project = Project(root)
        try:
            ddp = ["trainer.devices=2", "trainer.strategy=ddp"] if args.ddp else []
            record = project.launch("configs/tiny.yaml", ["trainer.max_epochs=100000", *ddp])
            deadline = time.monotonic() + 120
            while not metrics_steps(record.run_dir):
                if time.monotonic() > deadline:
                    print("the run did not start training within 120 s", file=sys.stderr)
                    return 1
                time.sleep(0.1)
            applied, seen = [], []
            for _ in range(args.commands):
                # A gap spanning a whole throttle period: sends land at every phase of it.
                time.sleep(random.uniform(0.5, 1.5))
                start = time.time()
                command_id = steering.send(record, "lr", "x1")
                ack = steering.wait_ack(record, command_id, timeout_s=30)
                if ack is None or ack.status != "applied" or ack.time is None:
                    print(f"command {command_id}: no applied ack ({ack})", file=sys.stderr)
                    return 1
                seen.append(time.time() - start)
                applied.append(ack.time - start)
            steps = max(metrics_steps(record.run_dir))
        finally:
            kill_project_processes(root)
    where = "2 DDP ranks" if args.ddp else "one process"
    print(f"control latency, {args.commands} commands while training on {where} (step {steps})")
    print(f"  throttle interval (reads of control/)   {poll_interval():.2f} s")
    for name, values in (
        ("written -> applied (ack)", applied),
        ("written -> seen (wait_ack)", seen),
    ):
        print(
            f"  {name:<28} p50 {statistics.median(values):.2f} s  "
            f"p95 {percentile(values, 0.95):.2f} s  max {max(values):.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
