"""Built-in postprocess steps for `recipe predict`: model outputs to readable results.

A custom one is any function registered in custom.py taking `(outputs, class_names=…,
top_k=…)` and returning one JSON-serialisable value per input row.
"""

from __future__ import annotations

from typing import Any

import torch


def topk_classes(
    outputs: torch.Tensor, class_names: list[str] | None = None, top_k: int = 3
) -> list[dict[str, Any]]:
    """The predicted class and the top-k classes with their probabilities, per row."""
    probabilities = torch.softmax(outputs.float(), dim=-1)
    k = min(top_k, probabilities.shape[-1])
    values, indices = probabilities.topk(k, dim=-1)
    names = class_names or [str(i) for i in range(probabilities.shape[-1])]
    rows = []
    for row_values, row_indices in zip(values.tolist(), indices.tolist(), strict=True):
        ranked = [
            {"class": names[i], "index": i, "probability": round(p, 6)}
            for p, i in zip(row_values, row_indices, strict=True)
        ]
        rows.append({"prediction": ranked[0]["class"], "top_k": ranked})
    return rows


def regression_values(outputs: torch.Tensor, **_: Any) -> list[dict[str, Any]]:
    """The predicted value(s) per row."""
    values = outputs.float().reshape(outputs.shape[0], -1).tolist()
    return [{"prediction": row[0] if len(row) == 1 else row} for row in values]
