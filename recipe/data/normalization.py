"""Input (and regression-target) normalisation: fitted on the training split, applied to
every batch, and recorded in `predict.json` so `predict` applies the very same statistics.

Statistics are pooled per feature for flat rows, per channel for images (C, H, W), and over
everything for other shapes; see `normalize_per`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import Tensor


def normalize_per(input_shape: tuple[int, ...]) -> Literal["feature", "channel", "all"]:
    """How statistics are pooled for samples of this shape (see `from_arrays`)."""
    if len(input_shape) == 1:
        return "feature"
    if len(input_shape) == 3:
        return "channel"
    return "all"


def fit_normalization(values: np.ndarray, per: str) -> tuple[list[float], list[float]]:
    """Mean and standard deviation of `values` (N, ...) pooled as `per` says.

    A constant feature gets a standard deviation of 1, so it maps to 0, not to NaN.
    """
    data = values.astype(np.float64)
    if per == "feature":
        flat = data.reshape(len(data), -1)
        mean, std = flat.mean(axis=0), flat.std(axis=0)
    elif per == "channel":
        channels = np.moveaxis(data, 1, 0).reshape(data.shape[1], -1)
        mean, std = channels.mean(axis=1), channels.std(axis=1)
    else:
        mean, std = np.array([data.mean()]), np.array([data.std()])
    std = np.where(std > 1e-12, std, 1.0)
    return [float(m) for m in mean], [float(s) for s in std]


def apply_normalization(
    x: Tensor, mean: Sequence[float] | None, std: Sequence[float] | None, per: str = "feature"
) -> Tensor:
    """Return `(x - mean) / std` for a batch `x`, broadcasting the statistics as `per` says."""
    if mean is None or std is None:
        return x
    mean_t = torch.tensor(mean, dtype=x.dtype, device=x.device)
    std_t = torch.tensor(std, dtype=x.dtype, device=x.device)
    if per == "channel":
        view = (-1,) + (1,) * (x.dim() - 2)
        mean_t, std_t = mean_t.view(view), std_t.view(view)
    elif per == "feature":
        mean_t, std_t = mean_t.view(x.shape[1:]), std_t.view(x.shape[1:])
    return (x - mean_t) / std_t
