"""Losses the built-in tables name beyond torch.nn's: cross-entropy plus Dice for
segmentation (`loss: dice_ce`), and the sum of a detector's own losses (`loss: detector`).

Cross-entropy alone learns the large classes (the background) first; the soft Dice term
scores each class by its overlap whatever its size, so small shapes pull their weight.
"""

from __future__ import annotations

from torch import Tensor, nn


class DiceCrossEntropy(nn.Module):
    """`cross_entropy + dice_weight x (1 - mean soft Dice over classes)`, per pixel.

    Args:
        ignore_index: the target value of unlabelled pixels: out of both terms (the recipe
            passes the data's `ignore_index` unless the config sets it).
        dice_weight: the weight of the Dice term.
        smooth: added to the Dice numerator and denominator (no 0/0 for absent classes).
    """

    def __init__(self, ignore_index: int = 255, dice_weight: float = 1.0, smooth: float = 1.0):
        super().__init__()
        self.ignore_index = ignore_index
        self.dice_weight = dice_weight
        self.smooth = smooth
        self.cross_entropy = nn.CrossEntropyLoss(ignore_index=ignore_index)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        loss = self.cross_entropy(logits, target)
        valid = (target != self.ignore_index).unsqueeze(1)  # (N, 1, H, W)
        probabilities = logits.softmax(dim=1) * valid
        classes = logits.shape[1]
        one_hot = nn.functional.one_hot(target.where(valid.squeeze(1), 0), classes)
        one_hot = one_hot.permute(0, 3, 1, 2).to(probabilities.dtype) * valid
        dims = (0, 2, 3)
        overlap = (probabilities * one_hot).sum(dims)
        total = probabilities.sum(dims) + one_hot.sum(dims)
        dice = (2 * overlap + self.smooth) / (total + self.smooth)
        return loss + self.dice_weight * (1 - dice.mean())


__all__ = ["DiceCrossEntropy"]


class DetectorLoss(nn.Module):
    """The sum of a detector's own loss dict (`loss: auto` for detection): torchvision's
    detectors compute their losses themselves (matching boxes to predictions is theirs).

    Args:
        weights: a weight per component by name (e.g. `{loss_box_reg: 2.0}`); others 1.
    """

    def __init__(self, weights: dict[str, float] | None = None) -> None:
        super().__init__()
        self.weights = dict(weights or {})

    def forward(self, losses: dict[str, Tensor]) -> Tensor:
        total: Tensor = sum(  # type: ignore[assignment]
            value * float(self.weights.get(name, 1.0)) for name, value in losses.items()
        )
        return total
