"""Learning-rate schedules the recipe offers by short name.

Each takes the optimizer and the run's `total_steps` (the recipe supplies both), so a
config only says the shape of the schedule. They step once per optimizer step.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, OneCycleLR


def warmup_cosine(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int | None = None,
    warmup_fraction: float = 0.05,
    min_lr_ratio: float = 0.0,
) -> LRScheduler:
    """Linear warmup to the optimizer's lr, then cosine decay to `min_lr_ratio` × lr."""
    warmup = warmup_steps if warmup_steps is not None else int(total_steps * warmup_fraction)
    warmup = max(0, min(warmup, total_steps - 1))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total_steps - warmup)
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return min_lr_ratio + (1.0 - min_lr_ratio) * cosine

    return LambdaLR(optimizer, factor)


def cosine(optimizer: Optimizer, total_steps: int, min_lr_ratio: float = 0.0) -> LRScheduler:
    """Cosine decay over the whole run, no warmup."""
    return warmup_cosine(optimizer, total_steps, warmup_steps=0, min_lr_ratio=min_lr_ratio)


def one_cycle(
    optimizer: Optimizer,
    total_steps: int,
    max_lr: float | None = None,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> LRScheduler:
    """OneCycle; `max_lr` defaults to the optimizer's configured lr."""
    peak = max_lr if max_lr is not None else [g["lr"] for g in optimizer.param_groups]
    return OneCycleLR(
        optimizer,
        max_lr=peak,
        total_steps=max(1, total_steps),
        pct_start=pct_start,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
    )
