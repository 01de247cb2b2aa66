"""What the recipe costs over plain Lightning and a raw PyTorch loop, on the same work.

    python bench/recipe_overhead.py [--repeats 3] [--threads N] [--json] [--paired]

Trains the digits MLP (configs/digits.yaml) and the digits CNN (configs/digits_cnn.yaml)
four ways, each as a fresh process (a user's experience includes interpreter start and
imports):

- recipe:    `python -m recipe train CONFIG k=v --run-dir DIR`, the real command;
- lightning: bench/_plain_lightning.py, a plain Lightning script (DataLoader over a
             TensorDataset, default TensorBoardLogger and ModelCheckpoint);
- floor:     bench/_lightning_floor.py, the raw loop's exact work driven by Lightning's
             Trainer with its logger, checkpointing, progress bar and summary off: what
             Lightning itself costs, so `recipe/floor` is what the recipe adds to it;
- raw:       bench/_raw_torch.py, a PyTorch loop without Lightning.

Same work in each: the model, data (same split, same standardisation), batch size,
epochs, AdamW settings and validation every epoch come from the config, read through
the recipe once beforehand (bench/_reference.py); the baselines report their parameter
count and data checksums and the run stops if they differ. The configs' scheduler and
augmentation are overridden away in all three (`scheduler=null data.augment=null`).
Every variant logs the training loss every `log_every_n_steps` steps and saves a
checkpoint every epoch. All run with the same thread count, set through
OMP_NUM_THREADS: 1 by default. torch's own default (one thread per core) is worse for
measuring on a shared machine: with every core busy, a second intra-op thread makes a
small model's step wait for a descheduled worker, and epochs then vary tenfold from one
run to the next. `--threads N` measures with N.

Figures, medians over `--repeats` runs (the variants interleaved, in a rotating order,
so a busy machine slows all of them alike):

- s/epoch: steady state, the median gap between consecutive epochs' validation
  metrics, read from timestamps the process itself writes (metrics.jsonl for the
  recipe); the first epoch is left out;
- first metric: process spawn to the first training-loss point;
- final metric: process spawn to the last epoch's validation metrics;
- end to end: process spawn to process exit (measured by this script).

Targets (issue 3): recipe/lightning <= 1.0 on every figure; recipe/raw <= 1.3 end to
end on the MLP and <= 1.15 per epoch on the CNN.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VARIANTS = ("recipe", "lightning", "floor", "raw")
# recipe/lightning and recipe/raw carry targets; the other two say where the time goes.
RATIOS = (("recipe", "lightning"), ("recipe", "raw"), ("recipe", "floor"), ("floor", "raw"))
FIGURES = ("epoch_s", "first_metric_s", "final_metric_s", "end_to_end_s")
LABELS = {
    "epoch_s": "s/epoch (steady)",
    "first_metric_s": "first metric, s",
    "final_metric_s": "final metric, s",
    "end_to_end_s": "end to end, s",
}


@dataclass(frozen=True)
class Workload:
    """One config trained by all three variants."""

    name: str
    title: str
    config: str
    overrides: tuple[str, ...]
    # (figure, bound) targets for recipe/raw; recipe/lightning is <= 1.0 on every figure.
    raw_targets: tuple[tuple[str, float], ...]


def workloads(mlp_epochs: int, cnn_epochs: int) -> list[Workload]:
    return [
        Workload(
            "mlp",
            "digits MLP",
            "configs/digits.yaml",
            ("scheduler=null", f"trainer.max_epochs={mlp_epochs}"),
            (("end_to_end_s", 1.3),),
        ),
        Workload(
            "cnn",
            "digits CNN",
            "configs/digits_cnn.yaml",
            ("scheduler=null", "data.augment=null", f"trainer.max_epochs={cnn_epochs}"),
            (("epoch_s", 1.15),),
        ),
    ]


@dataclass(frozen=True)
class Figures:
    """One run of one variant, in seconds."""

    epoch_s: float
    first_metric_s: float
    final_metric_s: float
    end_to_end_s: float


def child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = str(ROOT)  # the recipe from this checkout, also for the helpers
    return env


def derive_spec(workload: Workload, work: Path, env: dict[str, str]) -> Path:
    """Run bench/_reference.py once: the baselines' spec, computed through the recipe."""
    result = subprocess.run(
        [sys.executable, str(BENCH / "_reference.py"), workload.config, *workload.overrides],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"deriving the {workload.name} spec failed:\n{result.stderr}")
    path = work / f"{workload.name}-spec.json"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def _median_gap(times: list[float]) -> float:
    if len(times) < 2:
        raise SystemExit("need at least 2 epochs to measure a steady-state epoch")
    return statistics.median(b - a for a, b in itertools.pairwise(times))


def _recipe_timeline(run_dir: Path) -> tuple[float | None, list[float]]:
    first: float | None = None
    epoch_ends: list[float] = []
    with open(run_dir / "metrics.jsonl", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            metrics = record.get("metrics", {})
            if first is None and "train/loss" in metrics:
                first = record["time"]
            if "val/acc" in metrics:
                epoch_ends.append(record["time"])
    return first, epoch_ends


def _check_baseline(
    variant: str, timeline: dict[str, Any], spec: dict[str, Any], threads: int
) -> None:
    expect = {**spec["expect"], "threads": threads}
    for key, value in expect.items():
        got = timeline[key]
        if abs(got - value) > 1e-6 * max(1.0, abs(value)):
            raise SystemExit(f"{variant} does other work than the recipe: {key} {got} != {value}")


def _command(variant: str, workload: Workload, spec_path: Path, run_dir: Path) -> list[str]:
    if variant == "recipe":
        command = [sys.executable, "-m", "recipe", "train", workload.config, *workload.overrides]
        return [*command, "--run-dir", str(run_dir / "run")]
    script = {
        "lightning": "_plain_lightning.py",
        "floor": "_lightning_floor.py",
        "raw": "_raw_torch.py",
    }[variant]
    timeline = run_dir / "timeline.json"
    return [sys.executable, str(BENCH / script), str(spec_path), str(run_dir), str(timeline)]


def _read_figures(
    variant: str,
    workload: Workload,
    spec_path: Path,
    run_dir: Path,
    threads: int,
    code: int,
    spawned: float,
    end_to_end: float,
) -> Figures:
    if code != 0:
        output = (run_dir / "stdout.log").read_text(encoding="utf-8", errors="replace")
        raise SystemExit(f"{variant} ({workload.name}) exited with {code}:\n{output[-3000:]}")
    if variant == "recipe":
        first, epoch_ends = _recipe_timeline(run_dir / "run")
    else:
        timeline = json.loads((run_dir / "timeline.json").read_text(encoding="utf-8"))
        _check_baseline(variant, timeline, json.loads(spec_path.read_text()), threads)
        first, epoch_ends = timeline["first_metric"], timeline["epoch_ends"]
    if first is None or not epoch_ends:
        raise SystemExit(f"{variant} ({workload.name}) logged no metrics")
    shutil.rmtree(run_dir)  # checkpoints add up over many runs
    return Figures(
        epoch_s=_median_gap(epoch_ends),
        first_metric_s=first - spawned,
        final_metric_s=epoch_ends[-1] - spawned,
        end_to_end_s=end_to_end,
    )


def run_once(
    variant: str, workload: Workload, spec_path: Path, work: Path, env: dict[str, str], threads: int
) -> Figures:
    """Spawn one variant as a fresh process and read its timeline."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"{workload.name}-{variant}-", dir=work))
    command = _command(variant, workload, spec_path, run_dir)
    with open(run_dir / "stdout.log", "wb") as log:
        spawned = time.time()
        started = time.perf_counter()
        code = subprocess.call(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        end_to_end = time.perf_counter() - started
    return _read_figures(variant, workload, spec_path, run_dir, threads, code, spawned, end_to_end)


def run_pair(
    variants: tuple[str, str],
    cpus: tuple[int, int],
    workload: Workload,
    spec_path: Path,
    work: Path,
    env: dict[str, str],
    threads: int,
) -> tuple[Figures, Figures]:
    """Run two variants at the same time, each pinned to a core of its own.

    Whatever slows the machine down (its speed drifts by tens of percent within minutes on
    a shared host) then slows both alike, so their ratio holds where a ratio of runs made
    one after the other does not. Each variant has the core to itself, as in `run_once`.
    """
    runs = []
    for variant, cpu in zip(variants, cpus, strict=True):
        run_dir = Path(tempfile.mkdtemp(prefix=f"{workload.name}-{variant}-", dir=work))
        log = open(run_dir / "stdout.log", "wb")  # noqa: SIM115 - closed below
        spawned, started = time.time(), time.perf_counter()
        proc = subprocess.Popen(
            _command(variant, workload, spec_path, run_dir),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(os.sched_setaffinity, 0, {cpu}),
        )
        runs.append((variant, run_dir, log, proc, spawned, started))
    # One blocked waiter per process: the exit time of each, and no polling loop taking
    # CPU from the two variants being measured.
    ended: dict[int, float] = {}

    def wait(index: int, proc: subprocess.Popen[bytes]) -> None:
        proc.wait()
        ended[index] = time.perf_counter()

    waiters = [
        threading.Thread(target=wait, args=(index, run[3])) for index, run in enumerate(runs)
    ]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join()
    figures = []
    for index, (variant, run_dir, log, proc, spawned, started) in enumerate(runs):
        log.close()
        figures.append(
            _read_figures(
                variant,
                workload,
                spec_path,
                run_dir,
                threads,
                proc.returncode,
                spawned,
                ended[index] - started,
            )
        )
    return figures[0], figures[1]


def _progress(repeat: int, repeats: int, label: str, values: dict[str, float]) -> None:
    """One line on stderr per run or pair, so a long benchmark shows it is moving."""
    figures = "  ".join(f"{f} {values[f]:.3f}" for f in FIGURES)
    print(f"  [{repeat + 1}/{repeats}] {label} {figures}", file=sys.stderr, flush=True)


def summarise(runs: list[Figures]) -> dict[str, float]:
    return {f: statistics.median(getattr(r, f) for r in runs) for f in FIGURES}


def _verdict(ratio: float, bound: float | None) -> str:
    if bound is None:
        return ""
    return f"<= {bound:g} {'met' if ratio <= bound else 'MISSED'}"


def table(result: dict[str, Any]) -> str:
    lines: list[str] = []
    for name, entry in result["workloads"].items():
        medians = entry["medians"]
        lines.append(
            f"{entry['title']}: {entry['config']} {' '.join(entry['overrides'])}  "
            f"(median of {result['repeats']}, {result['threads']} thread(s))"
        )
        header = (
            f"  {'':18}{'recipe':>9}{'lightning':>11}{'floor':>8}{'raw':>8}"
            f"   {'recipe/lightning':<22}{'recipe/raw':<22}{'recipe/floor':<14}floor/raw"
        )
        lines.append(header)
        for figure in FIGURES:
            ratios = {key: entry["ratios"][key][figure] for key in entry["ratios"]}
            vs_pl, vs_raw = ratios["recipe/lightning"], ratios["recipe/raw"]
            raw_bound = dict(result["targets"][name]).get(figure)
            lines.append(
                f"  {LABELS[figure]:18}"
                f"{medians['recipe'][figure]:9.3f}{medians['lightning'][figure]:11.3f}"
                f"{medians['floor'][figure]:8.3f}{medians['raw'][figure]:8.3f}"
                f"   {vs_pl:5.2f} {_verdict(vs_pl, 1.0):<16}"
                f"{vs_raw:5.2f} {_verdict(vs_raw, raw_bound):<16}"
                f"{ratios['recipe/floor']:5.2f}{'':9}{ratios['floor/raw']:5.2f}"
            )
        lines.append("")
    met = all(t["met"] for t in result["verdicts"])
    lines.append(f"targets: {'all met' if met else 'some MISSED'}")
    return "\n".join(lines)


PAIRED_BASELINES = ("raw", "floor", "lightning")


def paired_main(
    chosen: list[Workload], env: dict[str, str], repeats: int, threads: int, *, as_json: bool
) -> int:
    """`--paired`: each ratio from the recipe and a baseline run side by side, per pair."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--paired needs two cores; this process may use only one")
    started = time.perf_counter()
    ratios: dict[str, dict[str, list[dict[str, float]]]] = {
        w.name: {base: [] for base in PAIRED_BASELINES} for w in chosen
    }
    with tempfile.TemporaryDirectory(prefix="recipe-overhead-") as tmp:
        work = Path(tmp)
        specs = {w.name: derive_spec(w, work, env) for w in chosen}
        for repeat in range(repeats):
            # Swap the cores every repeat, so neither variant always has the same one.
            cpus = (cores[0], cores[1]) if repeat % 2 == 0 else (cores[1], cores[0])
            turn = repeat % len(PAIRED_BASELINES)
            for workload in chosen:
                for base in PAIRED_BASELINES[turn:] + PAIRED_BASELINES[:turn]:
                    recipe, baseline = run_pair(
                        ("recipe", base), cpus, workload, specs[workload.name], work, env, threads
                    )
                    pair = {f: getattr(recipe, f) / getattr(baseline, f) for f in FIGURES}
                    ratios[workload.name][base].append(pair)
                    if not as_json:
                        _progress(repeat, repeats, f"{workload.name} recipe/{base:9}", pair)
    result: dict[str, Any] = {
        "paired": True,
        "repeats": repeats,
        "threads": threads,
        "seconds": round(time.perf_counter() - started, 1),
        "workloads": {},
        "verdicts": [],
    }
    lines: list[str] = []
    for workload in chosen:
        raw_bounds = dict(workload.raw_targets)
        entry: dict[str, Any] = {}
        lines.append(
            f"{workload.title}, paired: the recipe and each baseline at the same time, one core "
            f"each; median [min-max] of {repeats} pairs, {threads} thread(s)"
        )
        lines.append(f"  {'':18}" + "".join(f"{'recipe/' + base:<34}" for base in PAIRED_BASELINES))
        for base in PAIRED_BASELINES:
            pairs = ratios[workload.name][base]
            entry[f"recipe/{base}"] = {
                f: {
                    "median": statistics.median(p[f] for p in pairs),
                    "min": min(p[f] for p in pairs),
                    "max": max(p[f] for p in pairs),
                    "pairs": [p[f] for p in pairs],
                }
                for f in FIGURES
            }
        for figure in FIGURES:
            cells = []
            for base in PAIRED_BASELINES:
                stats = entry[f"recipe/{base}"][figure]
                bound = 1.0 if base == "lightning" else None
                if base == "raw":
                    bound = raw_bounds.get(figure)
                cell = f"{stats['median']:.2f} [{stats['min']:.2f}-{stats['max']:.2f}]"
                cells.append(f"{cell} {_verdict(stats['median'], bound)}")
                if bound is not None:
                    result["verdicts"].append(
                        {
                            "workload": workload.name,
                            "ratio": f"recipe/{base}",
                            "figure": figure,
                            "value": round(stats["median"], 4),
                            "bound": bound,
                            "met": stats["median"] <= bound,
                        }
                    )
            lines.append(f"  {LABELS[figure]:18}" + "".join(f"{c:<34}" for c in cells).rstrip())
        lines.append("")
        result["workloads"][workload.name] = entry
    met = all(t["met"] for t in result["verdicts"])
    lines.append(f"targets: {'all met' if met else 'some MISSED'}")
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print("\n".join(lines))
        print(f"({result['seconds']} s in all)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant (3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OMP_NUM_THREADS for every variant (default 1, see above)",
    )
    parser.add_argument("--mlp-epochs", type=int, default=20, help="as configs/digits.yaml (20)")
    parser.add_argument("--cnn-epochs", type=int, default=15, help="as digits_cnn.yaml (15)")
    parser.add_argument("--only", choices=("mlp", "cnn"), help="run one workload")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--paired",
        action="store_true",
        help="run the recipe and each baseline at the same time on cores of their own "
        "(ratios that hold while the machine's speed drifts; needs 2 cores)",
    )
    args = parser.parse_args(argv)

    env = child_env(args.threads)
    chosen = [w for w in workloads(args.mlp_epochs, args.cnn_epochs) if args.only in (None, w.name)]
    if args.paired:
        return paired_main(chosen, env, args.repeats, args.threads, as_json=args.json)
    runs: dict[str, dict[str, list[Figures]]] = {w.name: {v: [] for v in VARIANTS} for w in chosen}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="recipe-overhead-") as tmp:
        work = Path(tmp)
        specs = {w.name: derive_spec(w, work, env) for w in chosen}
        for repeat in range(args.repeats):
            for workload in chosen:
                # Rotate the order, so no variant always runs first (or after the same one).
                turn = repeat % len(VARIANTS)
                order = VARIANTS[turn:] + VARIANTS[:turn]
                for variant in order:
                    figures = run_once(
                        variant, workload, specs[workload.name], work, env, args.threads
                    )
                    runs[workload.name][variant].append(figures)
                    if not args.json:
                        label = f"{workload.name} {variant:9}"
                        _progress(repeat, args.repeats, label, asdict(figures))

    result: dict[str, Any] = {
        "repeats": args.repeats,
        "threads": args.threads,
        "seconds": round(time.perf_counter() - started, 1),
        "targets": {w.name: [list(t) for t in w.raw_targets] for w in chosen},
        "workloads": {},
        "verdicts": [],
    }
    for workload in chosen:
        medians = {v: summarise(runs[workload.name][v]) for v in VARIANTS}
        ratios = {
            f"{top}/{base}": {f: medians[top][f] / medians[base][f] for f in FIGURES}
            for top, base in RATIOS
        }
        result["workloads"][workload.name] = {
            "title": workload.title,
            "config": workload.config,
            "overrides": list(workload.overrides),
            "medians": medians,
            "ratios": ratios,
            "runs": {v: [asdict(r) for r in runs[workload.name][v]] for v in VARIANTS},
        }
        checks = [("recipe/lightning", f, 1.0) for f in FIGURES]
        checks += [("recipe/raw", f, bound) for f, bound in workload.raw_targets]
        for ratio_name, figure, bound in checks:
            value = ratios[ratio_name][figure]
            result["verdicts"].append(
                {
                    "workload": workload.name,
                    "ratio": ratio_name,
                    "figure": figure,
                    "value": round(value, 4),
                    "bound": bound,
                    "met": value <= bound,
                }
            )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(result))
        print(f"({result['seconds']} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
