"""Images per second of the recipe on an image folder, against a plain torchvision loop.

    python bench/vision_throughput.py [--repeats 3] [--threads 1] [--model resnet18]
        [--size 64] [--per-class 100] [--batch-size 32] [--epochs 4] [--workers 0]
        [--paired] [--json]

Writes a coloured-shapes image folder (recipe.vision.shapes: 3 classes, `--per-class`
training and a quarter as many validation images per class, drawn at 1.5x `--size` so
resizing is real work), then trains the same torchvision model on it, each run a fresh
process:

- recipe: `python -m recipe train CONFIG` on a config written through the ordinary
  interface (`data: {_target_: image_folder, path, val_path, size}`, `model:
  {_target_: torchvision.models.NAME, num_classes: ${data.num_classes}}`), so it measures
  whatever the recipe's image pipeline is;
- plain: bench/_vision_workload.py's hand-written loop: torchvision's `ImageFolder` with
  transforms v2 doing the recipe's preprocessing (decode, resize, to float, normalise with
  the recipe's statistics; no augmentation in either), the same model (its parameter count
  is checked), batch size, epochs, AdamW learning rate and DataLoader workers; it logs,
  validates and saves a checkpoint every epoch as the recipe does.

Figures, medians over `--repeats` (the two interleaved, in alternating order; with
`--paired` run at the same time, one core each, the ratio taken per pair): training
images per second over a steady-state epoch (training, validation and checkpoint: the
median gap between consecutive epochs' validation metrics, first epoch left out; the same
work in both). Then, to say what bounds a step, each in its own process: the input
pipeline alone (the recipe's train loader as the recipe builds it, and the plain loop's
DataLoader, iterated without a model) and the training step alone on batches held in
memory (forward, backward, fused AdamW). Target: recipe/plain >= 0.95 images/s.
All processes run with OMP_NUM_THREADS=`--threads` (1 by default: stable on a shared
machine), on the CPU (`trainer.accelerator: cpu`; the plain loop has no GPU path).
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
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = ROOT / "bench" / "_vision_workload.py"
TARGET = 0.95


def child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = str(ROOT)
    return env


def write_workload(work: Path, args: argparse.Namespace) -> Path:
    """The image folders and the recipe config the benchmark trains."""
    sys.path.insert(0, str(ROOT))
    from recipe.vision.shapes import write_shapes

    drawn = max(8, args.size * 3 // 2)
    write_shapes(work / "train", per_class=args.per_class, size=drawn, seed=0)
    write_shapes(work / "val", per_class=max(1, args.per_class // 4), size=drawn, seed=1)
    config = work / "vision.yaml"
    config.write_text(
        "project: {name: vision-throughput, seed: 0}\n"
        "data:\n"
        "  _target_: image_folder\n"
        f"  path: {work / 'train'}\n"
        f"  val_path: {work / 'val'}\n"
        f"  size: {args.size}\n"
        f"dataloader: {{batch_size: {args.batch_size}, num_workers: {args.workers}}}\n"
        "model:\n"
        f"  _target_: torchvision.models.{args.model}\n"
        "  num_classes: ${data.num_classes}\n"
        "optimizer: {_target_: adamw, lr: 1.0e-3}\n"
        "scheduler: null\n"
        f"trainer: {{max_epochs: {args.epochs}, log_every_n_steps: 5, accelerator: cpu}}\n",
        encoding="utf-8",
    )
    return config


def _run(command: list[str], env: dict[str, str], log: Path) -> float:
    """Run `command` to the end; its wall time. Its output goes to `log`."""
    with open(log, "wb") as out:
        started = time.perf_counter()
        code = subprocess.call(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - started
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command[:4])} … exited with {code}:\n{tail}")
    return seconds


def _steady_epoch(epoch_ends: list[float]) -> float:
    if len(epoch_ends) < 3:
        raise SystemExit("need at least 3 epochs for a steady-state epoch (--epochs)")
    gaps = [b - a for a, b in itertools.pairwise(epoch_ends)]
    return statistics.median(gaps[1:])


def _command(variant: str, config: Path, spec: Path, run_dir: Path) -> list[str]:
    if variant == "recipe":
        return [sys.executable, "-m", "recipe", "train", str(config), "--run-dir", str(run_dir)]
    timeline = run_dir / "timeline.json"
    return [sys.executable, str(WORKLOAD), "plain", str(spec), str(run_dir), str(timeline)]


def _images_per_s(variant: str, run_dir: Path, spec: Path) -> float:
    """Training images per second over a steady-state epoch of a finished run."""
    if variant == "recipe":
        lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
        ends = [r["time"] for r in map(json.loads, lines) if "val/acc" in r.get("metrics", {})]
    else:
        ends = json.loads((run_dir / "timeline.json").read_text(encoding="utf-8"))["epoch_ends"]
    shutil.rmtree(run_dir)  # checkpoints add up
    return json.loads(spec.read_text())["train_images"] / _steady_epoch(ends)


def run_variants(
    variants: tuple[str, ...],
    config: Path,
    spec: Path,
    work: Path,
    env: dict[str, str],
    cpus: tuple[int, ...] | None,
) -> list[float]:
    """Train each variant in a fresh process: one after the other, or (`cpus`) at the same
    time, each pinned to a core of its own, so a machine whose speed drifts (a shared host)
    slows both alike and their ratio holds."""
    results = []
    if cpus is None:
        for variant in variants:
            run_dir = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=work))
            _run(_command(variant, config, spec, run_dir), env, work / f"{variant}.log")
            results.append(_images_per_s(variant, run_dir, spec))
        return results
    started = []
    for variant, cpu in zip(variants, cpus, strict=True):
        run_dir = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=work))
        log = open(work / f"{variant}.log", "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            _command(variant, config, spec, run_dir),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=functools.partial(os.sched_setaffinity, 0, {cpu}),
        )
        started.append((variant, run_dir, log, process))
    for variant, run_dir, log, process in started:
        code = process.wait()
        log.close()
        if code != 0:
            tail = (work / f"{variant}.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{variant} exited with {code}:\n{tail}")
        results.append(_images_per_s(variant, run_dir, spec))
    return results


def measure(args: argparse.Namespace) -> dict[str, Any]:
    env = child_env(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vision-throughput-") as tmp:
        work = Path(tmp)
        config = write_workload(work, args)
        spec = work / "spec.json"
        _run([sys.executable, str(WORKLOAD), "spec", str(config), str(spec)], env, work / "s.log")
        details = json.loads(spec.read_text())
        runs: dict[str, list[float]] = {"recipe": [], "plain": [], "recipe_loader": []}
        runs.update(plain_loader=[], step=[], recipe_build_s=[], ratio=[])
        cores = sorted(os.sched_getaffinity(0))
        if args.paired and len(cores) < 2:
            raise SystemExit("--paired needs two cores; this process may use only one")
        for repeat in range(args.repeats):
            # Alternate the order (and under --paired, the cores) every repeat.
            order = ("recipe", "plain") if repeat % 2 == 0 else ("plain", "recipe")
            cpus = (cores[0], cores[1]) if args.paired else None
            values = run_variants(order, config, spec, work, env, cpus)
            for variant, value in zip(order, values, strict=True):
                runs[variant].append(value)
                _progress(repeat, args.repeats, variant, value)
            runs["ratio"].append(runs["recipe"][-1] / runs["plain"][-1])
            out = work / "pipeline.json"
            _run([sys.executable, str(WORKLOAD), "pipeline", str(spec), str(config), str(out)],
                 env, work / "p.log")  # fmt: skip
            loaders = json.loads(out.read_text())
            runs["recipe_loader"].append(details["train_images"] / loaders["recipe_epoch_s"])
            runs["plain_loader"].append(details["train_images"] / loaders["plain_epoch_s"])
            runs["recipe_build_s"].append(loaders["recipe_build_s"])
            out = work / "step.json"
            _run([sys.executable, str(WORKLOAD), "step", str(spec), str(out)], env, work / "t.log")
            runs["step"].append(1.0 / json.loads(out.read_text())["step_s_per_image"])
            _progress(repeat, args.repeats, "step", runs["step"][-1])
    medians = {name: statistics.median(values) for name, values in runs.items()}
    return {
        "model": args.model,
        "size": args.size,
        "train_images": details["train_images"],
        "val_images": details["val_images"],
        "classes": len(details["class_names"]),
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "workers": args.workers,
        "threads": args.threads,
        "repeats": args.repeats,
        "medians": medians,
        "runs": runs,
        "paired": args.paired,
        "ratio": medians["ratio"],  # the median of the per-repeat ratios
        "target": TARGET,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _progress(repeat: int, repeats: int, label: str, images_per_s: float) -> None:
    print(f"  [{repeat + 1}/{repeats}] {label:7} {images_per_s:8.1f} images/s", file=sys.stderr)


def table(result: dict[str, Any]) -> str:
    m = result["medians"]
    ratio = result["ratio"]
    verdict = "met" if ratio >= result["target"] else "MISSED"
    bound = min(m["recipe_loader"], m["step"])
    bottleneck = "the input pipeline" if m["recipe_loader"] < m["step"] else "compute"
    lines = [
        f"{result['model']} at {result['size']} px, {result['train_images']} training and "
        f"{result['val_images']} validation images ({result['classes']} classes), batch "
        f"{result['batch_size']}, {result['epochs']} epochs, {result['workers']} DataLoader "
        f"workers, {result['threads']} thread(s); median of {result['repeats']}"
        + (", recipe and plain trained side by side" if result["paired"] else ""),
        f"  {'':44}{'images/s':>10}",
        f"  {'recipe, training (steady epoch)':44}{m['recipe']:10.1f}",
        f"  {'plain torchvision loop, training':44}{m['plain']:10.1f}"
        f"   recipe/plain {ratio:.2f} (>= {result['target']} {verdict}; "
        f"{min(result['runs']['ratio']):.2f}-{max(result['runs']['ratio']):.2f})",
        f"  {'input pipeline alone: the recipe loader':44}{m['recipe_loader']:10.1f}"
        f"   (+ {m['recipe_build_s']:.2f} s to check the config and build the data)",
        f"  {'input pipeline alone: the plain loader':44}{m['plain_loader']:10.1f}",
        f"  {'training step alone (batches in memory)':44}{m['step']:10.1f}",
        f"  a recipe step is bound by {bottleneck}: at most {bound:.1f} images/s "
        f"(loader {m['recipe_loader'] / m['step']:.1f}x the step's rate)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant (3)")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS (1)")
    parser.add_argument("--model", default="resnet18", help="a torchvision.models name")
    parser.add_argument("--size", type=int, default=64, help="training image size (64)")
    parser.add_argument("--per-class", type=int, default=100, help="training images per class")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (32)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (4; >= 3)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers (0)")
    parser.add_argument(
        "--paired",
        action="store_true",
        help="train the recipe and the plain loop at the same time, one core each (ratios "
        "that hold while a shared machine's speed drifts; needs 2 cores)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = measure(args)
    print(json.dumps(result, indent=2) if args.json else table(result))
    if not args.json:
        print(f"({result['seconds']} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
