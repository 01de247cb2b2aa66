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


def multilabel_labels(
    outputs: torch.Tensor, class_names: list[str] | None = None, threshold: float = 0.5, **_: Any
) -> list[dict[str, Any]]:
    """The labels whose probability (sigmoid) is above `threshold`, most likely first, and
    every class's probability, per row."""
    probabilities = torch.sigmoid(outputs.float())
    names = class_names or [str(i) for i in range(probabilities.shape[-1])]
    rows = []
    for row in probabilities.tolist():
        ranked = sorted(range(len(row)), key=lambda i: -row[i])
        rows.append(
            {
                "labels": [names[i] for i in ranked if row[i] > threshold],
                "probabilities": {names[i]: round(row[i], 6) for i in range(len(row))},
            }
        )
    return rows


def segmentation_masks(
    outputs: torch.Tensor,
    class_names: list[str] | None = None,
    sources: list[str] | None = None,
    out_dir: str = "predictions",
    **_: Any,
) -> list[dict[str, Any]]:
    """Per image: the predicted mask (argmax over classes) as a PNG of class indices in
    `out_dir` named after the input (a repeated name gets `_1`, `_2`...), its size
    `[height, width]` (the model's input size) and the pixel count of each class."""
    import os
    from pathlib import Path

    from PIL import Image

    masks = outputs.argmax(dim=1).to(torch.uint8)  # (N, H, W); at most 256 classes
    names = class_names or [str(i) for i in range(outputs.shape[1])]
    os.makedirs(out_dir, exist_ok=True)
    used: set[str] = set()
    rows = []
    for index, mask in enumerate(masks):
        stem = Path(sources[index]).stem if sources else f"mask_{index:04d}"
        name, n = f"{stem}.png", 0
        while name in used:
            n += 1
            name = f"{stem}_{n}.png"
        used.add(name)
        path = os.path.abspath(os.path.join(out_dir, name))
        partial = f"{path}.partial"
        Image.fromarray(mask.numpy(), "L").save(partial, "PNG")
        os.replace(partial, path)  # never a half-written mask under the final name
        counts = torch.bincount(mask.flatten().long(), minlength=len(names)).tolist()
        rows.append(
            {
                "mask": path,
                "size": list(mask.shape),
                "pixels": {names[i]: int(counts[i]) for i in range(len(names))},
            }
        )
    return rows


def detection_boxes(
    outputs: list[dict[str, torch.Tensor]],
    class_names: list[str] | None = None,
    top_k: int = 3,
    threshold: float = 0.5,
    **_: Any,
) -> list[dict[str, Any]]:
    """Per image: its boxes scored above `threshold` (`predict.threshold`), best first, at
    most `top_k` (`predict.top_k`), each `{"box": [x1, y1, x2, y2], "label", "index",
    "score"}` with the corners in the input image's own pixels (the detector maps them back
    from the size it resized the image to)."""
    rows = []
    for output in outputs:
        scores = output["scores"].float()
        order = [int(i) for i in scores.argsort(descending=True) if scores[i] > threshold]
        boxes = []
        for i in order[: max(top_k, 0)]:
            index = int(output["labels"][i])
            name = class_names[index] if class_names and index < len(class_names) else str(index)
            corners = [round(float(v), 2) for v in output["boxes"][i]]
            boxes.append(
                {"box": corners, "label": name, "index": index, "score": round(float(scores[i]), 4)}
            )
        rows.append({"boxes": boxes})
    return rows
