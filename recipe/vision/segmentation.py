"""Segmentation models: a small U-Net of our own, and torchvision's segmentation networks.

Each takes `(N, C, H, W)` images and returns logits `(N, num_classes, H, W)` at the input
size (torchvision's return a dict, `{"out": ..., "aux": ...}`: the wrapper keeps `out`).

- `unet`: for tiny inputs (32-128 px) trained from scratch in CPU minutes; any input size
  (a skip connection that comes out one pixel off after pooling is resized to match).
- `lraspp_mobilenet_v3_large`, `deeplabv3_mobilenet_v3_large`, `fcn_resnet50`: torchvision's,
  with the classes from the data and `weights` / `weights_backbone` always passed (None
  unless the config names them: left out, torchvision would download the backbone's
  ImageNet weights).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional


def _block(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """A U-Net (Ronneberger et al., 2015) sized for small images.

    Args:
        input_shape: `(channels, height, width)` (set by the recipe).
        num_outputs: the classes, background included (set by the recipe).
        widths: channels at each level, the first at full resolution; each next level
            halves the resolution. `[16, 32, 64]`: ~120k parameters.
    """

    def __init__(
        self, input_shape: Sequence[int], num_outputs: int, widths: Sequence[int] = (16, 32, 64)
    ) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"unet takes images (channels, height, width), got {input_shape}")
        if len(widths) < 2 or any(int(w) < 1 for w in widths):
            raise ValueError(f"widths: at least two positive widths, got {list(widths)}")
        channels = [int(input_shape[0]), *map(int, widths)]
        self.down = nn.ModuleList(_block(a, b) for a, b in itertools.pairwise(channels))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in itertools.pairwise(channels[1:])
        )
        self.merge = nn.ModuleList(_block(2 * a, a) for a in channels[1:-1])
        self.head = nn.Conv2d(channels[1], num_outputs, 1)

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for level, block in enumerate(self.down):
            if level:
                x = functional.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for up, merge in zip(reversed(self.up), reversed(self.merge), strict=True):
            skip = skips.pop()
            x = up(x)
            if x.shape[-2:] != skip.shape[-2:]:  # odd sizes: pooling dropped a row
                x = functional.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = merge(torch.cat([skip, x], dim=1))
        return self.head(x)


class _OutOnly(nn.Module):
    """torchvision's segmentation networks return `{"out", "aux"}`: the logits alone."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)["out"]
        return out


def lraspp_mobilenet_v3_large(
    input_shape: Sequence[int],
    num_outputs: int,
    weights: str | None = None,
    weights_backbone: str | None = None,
    **kwargs: Any,
) -> nn.Module:
    """torchvision's LR-ASPP on MobileNetV3-Large, `num_outputs` classes."""
    from torchvision.models import segmentation

    return _OutOnly(
        segmentation.lraspp_mobilenet_v3_large(
            weights=weights, weights_backbone=weights_backbone, num_classes=num_outputs, **kwargs
        )
    )


def deeplabv3_mobilenet_v3_large(
    input_shape: Sequence[int],
    num_outputs: int,
    weights: str | None = None,
    weights_backbone: str | None = None,
    aux_loss: bool | None = None,
    **kwargs: Any,
) -> nn.Module:
    """torchvision's DeepLabV3 on MobileNetV3-Large, `num_outputs` classes."""
    from torchvision.models import segmentation

    return _OutOnly(
        segmentation.deeplabv3_mobilenet_v3_large(
            weights=weights,
            weights_backbone=weights_backbone,
            num_classes=num_outputs,
            aux_loss=aux_loss,
            **kwargs,
        )
    )


def fcn_resnet50(
    input_shape: Sequence[int],
    num_outputs: int,
    weights: str | None = None,
    weights_backbone: str | None = None,
    aux_loss: bool | None = None,
    **kwargs: Any,
) -> nn.Module:
    """torchvision's FCN on ResNet-50, `num_outputs` classes (its backbone's default is
    ImageNet weights, fetched from the network: here None unless the config names them)."""
    from torchvision.models import segmentation

    return _OutOnly(
        segmentation.fcn_resnet50(
            weights=weights,
            weights_backbone=weights_backbone,
            num_classes=num_outputs,
            aux_loss=aux_loss,
            **kwargs,
        )
    )
