"""`optimizer.lr: auto`: Lightning's learning-rate range test, made safe for short runs.

What Lightning's `Tuner.lr_find` does not do for us:

- Its sweep ran inside the run's own limits: with `trainer.max_epochs=1` on digits it
  stopped after one epoch (23 of its 100 steps), chose 5.75e-7, and the run ended at 0.139
  accuracy. Here the sweep gets its full step count whatever the run's length (the fit
  loop's epoch limit is lifted for the sweep, then restored; the finder restores the weights).
- Its suggestion is the steepest fall of the loss against log(lr), not against lr (see
  `steepest_descent`).
- A suggestion from a sweep that stopped early (too few points) or that sits at the edge of
  the sweep is no suggestion: the optimizer's own default rate is used instead, with one
  warning line that says why and how to choose.
- Its progress bar is written to stderr even when that is a log file; it is kept out.

With `trainer.freeze_epochs` the sweep trains the head alone, the backbone frozen
(`recipe.finetune.FreezeBackbone.held_frozen`: the sweep runs without the run's callbacks),
so the rate found is the head's; the backbone's is that x `optimizer.backbone_lr_mult`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SWEEP_STEPS = 100  # Lightning's default number of rates to try
MIN_POINTS = 20  # fewer than this and the curve says nothing (Lightning skips 10 itself)
SKIP_BEGIN, SKIP_END = 10, 1  # what `suggestion()` ignores at each end, by default
FALLBACK_LR = 1e-3


@dataclass(frozen=True)
class LrChoice:
    """The rate the run trains with, and why."""

    lr: float
    suggestion: float | None
    points: int
    problem: str | None  # why the suggestion was not used, or None when it was
    fallback_source: str


def default_lr(optimizer_ref: dict[str, Any]) -> tuple[float, str]:
    """The optimizer's own default `lr` (AdamW: 1e-3), or 1e-3 when it has none."""
    from recipe.registry import resolve_target

    name = str(optimizer_ref.get("_target_", "optimizer"))
    try:
        parameter = inspect.signature(resolve_target(name, "optimizer")).parameters.get("lr")
    except (LookupError, TypeError, ValueError):
        parameter = None
    default = None if parameter is None else parameter.default
    if isinstance(default, int | float) and not isinstance(default, bool) and default > 0:
        return float(default), f"{name}'s default"
    return FALLBACK_LR, "the recipe's default"


@contextlib.contextmanager
def _sweep_not_bounded_by_the_run(trainer: Any) -> Iterator[None]:
    loop = trainer.fit_loop
    max_epochs = loop.max_epochs
    loop.max_epochs = -1  # the sweep stops at its own step count
    try:
        yield
    finally:
        loop.max_epochs = max_epochs


@contextlib.contextmanager
def _no_progress_bar(quiet: bool) -> Iterator[None]:
    """Lightning's finder hard-codes a tqdm bar (to stderr); in a log file it is noise."""
    from pytorch_lightning.tuner import lr_finder

    if not quiet:
        yield
        return
    original = lr_finder.tqdm
    lr_finder.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        lr_finder.tqdm = original


def degenerate(results: dict[str, list[float]], suggestion: float | None) -> str | None:
    """Why a sweep's suggestion is not to be trusted, or None."""
    lrs, losses = results.get("lr", []), results.get("loss", [])
    if len(lrs) < MIN_POINTS:
        return f"the sweep stopped after {len(lrs)} of {SWEEP_STEPS} steps"
    if suggestion is None:
        return "the sweep gave no suggestion (too few finite losses)"
    considered = [i for i in range(SKIP_BEGIN, len(losses) - SKIP_END) if math.isfinite(losses[i])]
    index = min(range(len(lrs)), key=lambda i: abs(math.log10(lrs[i] / suggestion)))
    # Within the slope's window of an end: the loss may fall faster still beyond the sweep.
    half = _half_window(len(considered))
    if considered and index <= considered[min(half, len(considered) - 1)]:
        return f"its suggestion {suggestion:.3g} is at the low edge of the sweep"
    if considered and index >= considered[max(0, len(considered) - 1 - half)]:
        return f"its suggestion {suggestion:.3g} is at the high edge of the sweep"
    return None


def _half_window(points: int) -> int:
    """Points each side of the one whose slope is taken: a tenth of the sweep in all."""
    return max(1, points // 20)


def find_lr(
    trainer: Any, module: Any, train_loader: Any, val_loader: Any, optimizer_ref: dict[str, Any]
) -> LrChoice:
    """Run the range test on `module` (its weights are restored afterwards); the rate to use."""
    from pytorch_lightning.tuner import Tuner

    fallback, source = default_lr(optimizer_ref)
    module.lr = fallback  # a number for configure_optimizers; the sweep sets its own rates
    with _sweep_not_bounded_by_the_run(trainer), _no_progress_bar(not sys.stderr.isatty()):
        finder = Tuner(trainer).lr_find(
            module,
            train_dataloaders=train_loader,
            val_dataloaders=val_loader,
            num_training=SWEEP_STEPS,
            update_attr=False,
            attr_name="lr",
        )
    results: dict[str, list[float]] = finder.results if finder is not None else {}
    suggestion = steepest_descent(results)
    problem = degenerate(results, suggestion)
    points = len(results.get("lr", []))
    if problem is None and suggestion is not None:
        return LrChoice(suggestion, suggestion, points, None, source)
    return LrChoice(fallback, suggestion, points, problem, source)


def steepest_descent(results: dict[str, list[float]]) -> float | None:
    """The rate where the (smoothed) loss falls fastest against log(lr), or None.

    Lightning's `suggestion()` takes the gradient against lr itself, step by step: on a
    log-spaced sweep the tiny steps between tiny rates turn noise into the steepest slope
    (wine: 1.45e-6, where the loss was still flat, and a run that learnt nothing; diabetes:
    9e-8). Here the slope is taken against log(lr), where each step of the sweep weighs the
    same, over a window of a tenth of the sweep, so a sustained fall beats a blip.
    """
    lrs, losses = results.get("lr", []), results.get("loss", [])
    kept = [
        (math.log10(lr), loss)
        for lr, loss in list(zip(lrs, losses, strict=False))[SKIP_BEGIN : len(lrs) - SKIP_END]
        if lr > 0 and math.isfinite(loss)
    ]
    if len(kept) < 3:
        return None
    half = _half_window(len(kept))

    def slope(i: int) -> float:
        left, right = kept[max(0, i - half)], kept[min(len(kept) - 1, i + half)]
        return (right[1] - left[1]) / max(right[0] - left[0], 1e-12)

    best = min(range(len(kept)), key=slope)
    return float(10 ** kept[best][0])


def report(choice: LrChoice) -> str:
    """The one line the run prints about its rate."""
    if choice.problem is None:
        return f"learning-rate finder: lr = {choice.lr:.3g} (a sweep of {choice.points} steps)"
    return (
        f"warning: learning-rate finder: {choice.problem}; training with lr = "
        f"{choice.lr:.3g} ({choice.fallback_source}) instead; set optimizer.lr to choose"
    )


def choose_lr(
    trainer: Any,
    module: Any,
    train_loader: Any,
    val_loader: Any,
    cfg: dict[str, Any],
    freeze: Any,
    jsonl: Any,
    debug: bool,
) -> float:
    """The rate for `lr: auto` on a fresh run: the sweep's choice, printed and logged as an
    `lr_find` event; under `--debug` (one batch, no sweep) the optimizer's default.

    With `freeze` (trainer.freeze_epochs) the sweep trains the head alone, the backbone
    frozen: the rate found is the head's (the backbone's is that x optimizer.backbone_lr_mult).
    """
    if debug:
        lr, source = default_lr(cfg["optimizer"])
        print(f"--debug: no learning-rate sweep; lr = {lr:.3g} ({source})", flush=True)
        return lr
    with freeze.held_frozen(module) if freeze is not None else contextlib.nullcontext():
        choice = find_lr(trainer, module, train_loader, val_loader, cfg["optimizer"])
    print(report(choice), file=sys.stderr if choice.problem else sys.stdout, flush=True)
    if freeze is not None and "backbone_lr_mult" not in cfg["optimizer"]:
        print(
            "note: the sweep trained the head alone (freeze_epochs); once unfrozen the "
            "backbone trains at the same rate: set optimizer.backbone_lr_mult (e.g. 0.1) "
            "for a lower one",
            flush=True,
        )
    jsonl.log_event(
        "lr_find",
        0,
        0,
        lr=choice.lr,
        suggestion=choice.suggestion,
        sweep_steps=choice.points,
        problem=choice.problem,
    )
    return choice.lr
