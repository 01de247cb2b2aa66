"""Time to first metric of `python -m recipe train` here against another checkout.

    python bench/checkout_compare.py --baseline DIR [--baseline-python PY] [--repeats 5]

Why: a change of dependencies (a new torch build, torchvision installed beside it) can slow
every run's start without touching our code, and only a run of both, on the same machine in
the same minutes, shows by how much. DIR is a checkout of the earlier commit with its own
environment (`DIR/.venv`, made by its own `scripts/setup_env.sh`); this checkout runs with
the Python running this script.

Both run the digits configs (MLP and CNN) for two epochs, each as a fresh process, one
thread (OMP_NUM_THREADS=1), in pairs started at the same moment and pinned to a core each,
so that whatever slows the machine slows both alike (see bench/recipe_overhead.py). The
figure is process spawn to the first training-loss point in the run's metrics.jsonl, as in
recipe_overhead; end to end is process spawn to exit.

Target (issue 12): this/baseline <= 1.05 on time to first metric.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from recipe_overhead import _recipe_timeline  # noqa: E402

CONFIGS = (
    ("digits MLP", "configs/digits.yaml", ("scheduler=null", "trainer.max_epochs=2")),
    (
        "digits CNN",
        "configs/digits_cnn.yaml",
        ("scheduler=null", "data.augment=null", "trainer.max_epochs=2"),
    ),
)
TARGET = 1.05


def _start(
    root: Path, python: str, config: str, overrides: tuple[str, ...], work: Path, cpu: int
) -> tuple[subprocess.Popen[bytes], Path, float, float]:
    run_dir = Path(tempfile.mkdtemp(dir=work)) / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(root))
    command = [python, "-m", "recipe", "train", config, *overrides, "--run-dir", str(run_dir)]
    spawned, started = time.time(), time.perf_counter()
    proc = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=functools.partial(os.sched_setaffinity, 0, {cpu}),
    )
    return proc, run_dir, spawned, started


def run_pair(
    sides: list[tuple[Path, str]], config: str, overrides: tuple[str, ...], work: Path
) -> list[tuple[float, float]]:
    """Both checkouts at once, a core each: [(first metric s, end to end s)] per side."""
    cpus = sorted(os.sched_getaffinity(0))[:2]
    runs = [
        _start(root, py, config, overrides, work, cpu)
        for (root, py), cpu in zip(sides, cpus, strict=True)
    ]
    ended: dict[int, float] = {}

    def wait(index: int, proc: subprocess.Popen[bytes]) -> None:
        proc.wait()
        ended[index] = time.perf_counter()

    waiters = [threading.Thread(target=wait, args=(i, r[0])) for i, r in enumerate(runs)]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join()
    figures = []
    for index, (proc, run_dir, spawned, started) in enumerate(runs):
        if proc.returncode != 0:
            stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise SystemExit(f"{sides[index][0]}: {config} exited {proc.returncode}\n{stderr}")
        first, _ = _recipe_timeline(run_dir)
        if first is None:
            raise SystemExit(f"{sides[index][0]}: {config} logged no training loss")
        figures.append((first - spawned, ended[index] - started))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the earlier checkout")
    parser.add_argument("--baseline-python", help="its Python (default DIR/.venv/bin/python)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two cores: the two checkouts run side by side")
    base_python = args.baseline_python or str(args.baseline / ".venv" / "bin" / "python")
    this = (ROOT, sys.executable)
    base = (args.baseline.resolve(), base_python)
    print(f"this:     {ROOT} ({sys.executable})")
    print(f"baseline: {base[0]} ({base_python})")
    met = True
    with tempfile.TemporaryDirectory(prefix="checkout-compare-") as tmp:
        for title, config, overrides in CONFIGS:
            ours: list[tuple[float, float]] = []
            theirs: list[tuple[float, float]] = []
            for repeat in range(args.repeats):
                # Alternate which side gets the first core, in case the cores differ.
                sides = [this, base] if repeat % 2 == 0 else [base, this]
                pair = run_pair(sides, config, overrides, Path(tmp))
                mine, other = (pair[0], pair[1]) if repeat % 2 == 0 else (pair[1], pair[0])
                ours.append(mine)
                theirs.append(other)
                print(
                    f"  [{repeat + 1}/{args.repeats}] {title}: first metric "
                    f"{mine[0]:.3f} vs {other[0]:.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
            ratios = [a[0] / b[0] for a, b in zip(ours, theirs, strict=True)]
            first_ratio = statistics.median(ratios)
            end_ratio = statistics.median(a[1] / b[1] for a, b in zip(ours, theirs, strict=True))
            ok = first_ratio <= TARGET
            met = met and ok
            print(f"{title}: {config} {' '.join(overrides)} (median of {args.repeats} pairs)")
            print(
                f"  first metric, s   this {statistics.median(a[0] for a in ours):.3f}"
                f"   baseline {statistics.median(b[0] for b in theirs):.3f}"
                f"   ratio {first_ratio:.3f} [{min(ratios):.2f}-{max(ratios):.2f}]"
                f" <= {TARGET} {'met' if ok else 'MISSED'}"
            )
            print(
                f"  end to end, s     this {statistics.median(a[1] for a in ours):.3f}"
                f"   baseline {statistics.median(b[1] for b in theirs):.3f}"
                f"   ratio {end_ratio:.3f}"
            )
    print(f"target: {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
