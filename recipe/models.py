"""The built-in models: an MLP, a small CNN and a small ResNet.

A config's `model:` section names one of these (or an `nn.Module` from `custom.py` or
a dotted import path); its keys are the constructor's keyword arguments. The recipe
adds `input_shape` (one sample's shape, e.g. `(64,)` or `(3, 32, 32)`) and
`num_outputs` (classes, or regression targets) from the data.

Every built-in model is `head(backbone(x))`, with both parts as submodules: fine-tuning
(recipe.finetune) trains only `model.head` for the first `freeze_epochs`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def make_activation(name: str) -> nn.Module:
    """A fresh activation layer by name; a ValueError lists the valid names."""
    if name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; valid activations: {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]()


class MLP(nn.Module):
    """A multilayer perceptron over the flattened input.

    Args:
        input_shape: one sample's shape (set by the recipe); any shape, it is flattened.
        num_outputs: outputs of the head (set by the recipe).
        hidden: the width of each hidden layer, e.g. `[256, 128]`; `[]` makes a linear model.
        dropout: dropout probability after each hidden layer.
        activation: one of relu, gelu, silu, leaky_relu, elu, tanh, sigmoid.
        batch_norm: batch normalisation before each activation.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        hidden: Sequence[int] = (128,),
        dropout: float = 0.0,
        activation: str = "relu",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        _check_outputs(num_outputs)
        _check_widths("hidden", hidden, allow_empty=True)
        _check_dropout(dropout)
        make_activation(activation)
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(make_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(x))


class SmallCNN(nn.Module):
    """A few convolution blocks, global average pooling, and a linear head.

    Each block is conv → batch norm → activation, then 2x2 max pooling while the
    feature map is at least 2x2: so it works on 8x8 digits as well as 32x32 photos.

    Args:
        input_shape: `(channels, height, width)` (set by the recipe).
        num_outputs: outputs of the head (set by the recipe).
        channels: output channels of each convolution block, e.g. `[32, 64]`.
        kernel_size: convolution kernel size (odd; padding keeps the size).
        dropout: dropout probability before the head.
        activation: one of relu, gelu, silu, leaky_relu, elu, tanh, sigmoid.
        batch_norm: batch normalisation after each convolution.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        dropout: float = 0.0,
        activation: str = "relu",
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        in_channels, height, width = _image_shape("SmallCNN", input_shape)
        _check_outputs(num_outputs)
        _check_widths("channels", channels)
        _check_dropout(dropout)
        make_activation(activation)
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd integer, got {kernel_size!r}")
        layers: list[nn.Module] = []
        for out_channels in channels:
            layers.append(
                nn.Conv2d(
                    in_channels,
                    out_channels,
                    kernel_size,
                    padding=kernel_size // 2,
                    bias=not batch_norm,
                )
            )
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(make_activation(activation))
            if height >= 2 and width >= 2:
                layers.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            in_channels = out_channels
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Linear(in_channels, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(x))


class BasicBlock(nn.Module):
    """The ResNet basic block: two 3x3 convolutions with a shortcut around them."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    """A small ResNet: a 3x3 stem, stages of basic blocks, global pooling, a linear head.

    Each stage after the first halves the feature map (stride 2) while it is at least
    2x2, so 8x8 digits and 32x32 photos both work.

    Args:
        input_shape: `(channels, height, width)` (set by the recipe).
        num_outputs: outputs of the head (set by the recipe).
        widths: channels of each stage, e.g. `[16, 32, 64]`.
        blocks_per_stage: basic blocks in each stage.
        dropout: dropout probability before the head.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        widths: Sequence[int] = (16, 32, 64),
        blocks_per_stage: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        in_channels, height, width = _image_shape("SmallResNet", input_shape)
        _check_outputs(num_outputs)
        _check_widths("widths", widths)
        _check_dropout(dropout)
        if not isinstance(blocks_per_stage, int) or blocks_per_stage < 1:
            raise ValueError(
                f"blocks_per_stage must be a positive integer, got {blocks_per_stage!r}"
            )
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        channels = widths[0]
        for stage, stage_width in enumerate(widths):
            for block in range(blocks_per_stage):
                stride = 1
                if stage > 0 and block == 0 and height >= 2 and width >= 2:
                    stride = 2
                    height, width = (height + 1) // 2, (width + 1) // 2
                layers.append(BasicBlock(channels, stage_width, stride))
                channels = stage_width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(x))


def _image_shape(model: str, input_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        hint = " (for digits, set data.as_image: true)" if tuple(input_shape) == (64,) else ""
        raise ValueError(
            f"{model} needs image inputs shaped (channels, height, width), but the data "
            f"gives samples of shape {tuple(input_shape)}{hint}; use MLP for flat features"
        )
    channels, height, width = (int(d) for d in input_shape)
    return channels, height, width


def _check_outputs(num_outputs: int) -> None:
    if not isinstance(num_outputs, int) or num_outputs < 1:
        raise ValueError(f"num_outputs must be a positive integer, got {num_outputs!r}")


def _check_widths(name: str, widths: Sequence[int], *, allow_empty: bool = False) -> None:
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence):
        raise ValueError(f"{name} must be a list of positive integers, got {widths!r}")
    if not widths and not allow_empty:
        raise ValueError(f"{name} needs at least one entry, e.g. [32, 64]")
    if not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths):
        raise ValueError(f"{name} must be a list of positive integers, got {list(widths)!r}")


def _check_dropout(dropout: float) -> None:
    if not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
