"""Your functions, registered by name so a config can use them.

Anything decorated with `@register` (or `@register("short_name")`) can be named in a
config with `_target_: short_name`; its keyword arguments are checked against the
config before training starts. configs/custom_example.yaml uses all three below.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from recipe.data import DataBundle, from_arrays
from recipe.registry import register


@register("wine_subset")
def wine_subset(
    features: list[str] | None = None, val_fraction: float = 0.25, seed: int = 0
) -> DataBundle:
    """scikit-learn's wine data, optionally restricted to some feature columns."""
    from sklearn.datasets import load_wine  # imported here: every run loads custom.py

    raw = load_wine()
    names = list(raw.feature_names)
    chosen = features or names
    columns = [names.index(name) for name in chosen]
    x = np.asarray(raw.data[:, columns], dtype=np.float32)
    return from_arrays(
        x,
        raw.target,
        task="classification",
        class_names=list(raw.target_names),
        feature_names=chosen,
        val_fraction=val_fraction,
        seed=seed,
        source="wine_subset",
    )


@register("residual_mlp")
class ResidualMLP(nn.Module):
    """An MLP with skip connections; `backbone` and `head` so freeze_epochs works."""

    def __init__(
        self, input_shape: tuple[int, ...], num_outputs: int, width: int = 64, depth: int = 2
    ) -> None:
        super().__init__()
        features = int(np.prod(input_shape))
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(features, width), nn.GELU())
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU())
            for _ in range(depth)
        )
        self.backbone = nn.ModuleList([self.stem, self.blocks])
        self.head = nn.Linear(width, num_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


@register("wine_label")
def wine_label(
    outputs: torch.Tensor, class_names: list[str] | None = None, top_k: int = 1
) -> list[dict[str, Any]]:
    """A postprocess step: the predicted cultivar and how sure the model is."""
    probabilities = torch.softmax(outputs, dim=-1)
    confidence, index = probabilities.max(dim=-1)
    names = class_names or [str(i) for i in range(outputs.shape[-1])]
    return [
        {"cultivar": names[i], "confident": c > 0.9, "confidence": round(c, 4)}
        for c, i in zip(confidence.tolist(), index.tolist(), strict=True)
    ]
