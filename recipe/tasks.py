"""What each task decides in training: its default loss, its metrics, its default monitor.

- classification: cross-entropy; accuracy (micro) and macro F1; monitor val/acc.
- regression: MSE; MSE, MAE and R²; monitor val/loss.
- multilabel: BCE-with-logits on multi-hot targets; F1 at threshold 0.5 (micro and
  macro over classes) and mAP (macro average precision, threshold-free); monitor val/map.
- segmentation: cross-entropy per pixel, `ignore_index` pixels left out; mean IoU
  (macro Jaccard index over classes) and Dice (macro F1 over pixels, which is the Dice
  coefficient per class), `ignore_index` pixels left out of both; monitor val/miou.
- detection: the detector's own loss dict, summed (`recipe.losses.DetectorLoss`), each
  component logged; COCO mAP (IoU 0.50:0.95), mAP@50 and mAP@75 (torchmetrics'
  MeanAveragePrecision, faster-coco-eval backend; crowd boxes ignored); monitor val/map_50.

torchmetrics computes every metric (tested against hand-computed values).
"""

from __future__ import annotations

from typing import Any

import torchmetrics

DEFAULT_LOSS: dict[str, str] = {
    "classification": "cross_entropy",
    "regression": "mse",
    "multilabel": "bce_with_logits",
    "segmentation": "cross_entropy",
    "detection": "detector",
}

DEFAULT_MONITOR: dict[str, tuple[str, str]] = {
    "classification": ("val/acc", "max"),
    "regression": ("val/loss", "min"),
    "multilabel": ("val/map", "max"),
    "segmentation": ("val/miou", "max"),
    "detection": ("val/map_50", "max"),
}
# What detection logs of MeanAveragePrecision's many values (sizes and recalls: -1 or noise
# on small sets).
DETECTION_LOGGED = ("map", "map_50", "map_75")

# Metric names that grow as the model improves (a monitor on one of these is maximised).
HIGHER_IS_BETTER = ("acc", "f1", "r2", "auc", "map", "iou", "dice")


def task_metrics(
    task: str, num_outputs: int, ignore_index: int | None = None
) -> torchmetrics.MetricCollection:
    """The metrics the recipe logs per validation for `task` (see the module docstring)."""
    from torchmetrics import classification as tmc

    metrics: dict[str, Any]
    if task == "classification":
        metrics = {
            "acc": tmc.MulticlassAccuracy(num_classes=num_outputs, average="micro"),
            "f1": tmc.MulticlassF1Score(num_classes=num_outputs, average="macro"),
        }
    elif task == "multilabel":
        metrics = {
            "f1_micro": tmc.MultilabelF1Score(num_labels=num_outputs, average="micro"),
            "f1_macro": tmc.MultilabelF1Score(num_labels=num_outputs, average="macro"),
            "map": tmc.MultilabelAveragePrecision(num_labels=num_outputs, average="macro"),
        }
    elif task == "segmentation":
        metrics = {
            "miou": tmc.MulticlassJaccardIndex(
                num_classes=num_outputs, average="macro", ignore_index=ignore_index
            ),
            "dice": tmc.MulticlassF1Score(
                num_classes=num_outputs, average="macro", ignore_index=ignore_index
            ),
        }
    elif task == "detection":
        from torchmetrics.detection import MeanAveragePrecision

        # faster-coco-eval: the COCO evaluation (pycocotools' numbers) in C++, several
        # times faster than pycocotools, which torchmetrics would otherwise need.
        metrics = {"map": MeanAveragePrecision(iou_type="bbox", backend="faster_coco_eval")}
    else:
        metrics = {
            "mse": torchmetrics.MeanSquaredError(),
            "mae": torchmetrics.MeanAbsoluteError(),
            "r2": torchmetrics.R2Score(),
        }
    return torchmetrics.MetricCollection(metrics)


def default_monitor(task: str) -> tuple[str, str]:
    """The metric (and direction) that picks the best checkpoint when the config says auto."""
    return DEFAULT_MONITOR.get(task, ("val/loss", "min"))


def monitor_mode(monitor: str) -> str:
    """`max` for a metric that grows as the model improves, else `min`."""
    return "max" if any(key in monitor for key in HIGHER_IS_BETTER) else "min"
