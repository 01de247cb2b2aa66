"""Detection models: torchvision's detectors by name, and a tiny FCOS that trains on a CPU.

Each takes a list of images `(C, H, W)` in [0, 1] of any size (it resizes them to
`min_size` / `max_size` and normalises them itself) and, in training mode, their targets;
it then returns its own loss dict (`loss_classifier`, `loss_box_reg`, ...), which the
task sums and logs per component. In eval mode it returns per image `{"boxes" (N, 4) XYXY
in the input image's pixels, "scores", "labels"}`. `num_outputs` counts the background
(label 0), as torchvision's `num_classes` does.

- `fasterrcnn_mobilenet_v3_large_320_fpn`, `ssdlite320_mobilenet_v3_large`,
  `retinanet_resnet50_fpn`, `fcos_resnet50_fpn`: torchvision's, `weights` and
  `weights_backbone` always passed (None unless the config names them: left out,
  torchvision would download the backbone's ImageNet weights). Named weights are taken
  from torch's hub cache only (`python -m recipe weights` fetches them), never downloaded;
  `weights_file` loads a whole detector's state dict (same classes) from a file.
  `min_size` / `max_size` are exposed: the R-CNN family otherwise upsizes every image to
  800 px (the 320 variants to 320), which for 64 px images costs 150x the compute.
- `tiny_fcos`: ours, for 64-128 px images, ~0.2 M parameters, a few CPU minutes. Why FCOS:
  anchor-free (one point per feature cell, no anchor shapes to tune to the objects), and
  its head already uses GroupNorm; the backbone uses GroupNorm too (`norm: group`), so
  evaluation sees the very normalisation training did. With BatchNorm (`norm: batch`) a
  briefly trained detector scores far lower in eval mode than its training loss says, from
  running statistics that lag the weights (the trap measured in the README).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from recipe.vision.weights import (
    WeightsError,
    restoring,
    torchvision_source,
    torchvision_weights,
)

# Each detector's backbone, the classification model its weights_backbone names belong to.
DETECTORS: dict[str, str] = {
    "fasterrcnn_mobilenet_v3_large_320_fpn": "mobilenet_v3_large",
    "ssdlite320_mobilenet_v3_large": "mobilenet_v3_large",
    "retinanet_resnet50_fpn": "resnet50",
    "fcos_resnet50_fpn": "resnet50",
}


def _cached(model_name: str, weights: str) -> Any:
    """The weights enum member, which must already be in torch's hub cache."""
    try:
        enum = torchvision_weights(model_name, weights)
    except (KeyError, ValueError):
        raise WeightsError(f"{model_name} has no weights named {weights!r}") from None
    source = torchvision_source(model_name, enum)
    if source.found is None:
        raise WeightsError(source.missing_message())
    return enum


def torchvision_detector(
    name: str,
    num_outputs: int,
    weights: str | None = None,
    weights_backbone: str | None = None,
    weights_file: str | None = None,
    min_size: int | None = None,
    max_size: int | None = None,
    **kwargs: Any,
) -> nn.Module:
    """torchvision detector `name` (a key of DETECTORS) for `num_outputs` classes."""
    from torchvision.models import detection

    from recipe.vision.models import _check_file, _load_file

    backbone = DETECTORS[name]
    if name.startswith("ssd") and (min_size is not None or max_size is not None):
        raise ValueError(f"{name} resizes every image to 320x320: drop min_size / max_size")
    for key, value in (("min_size", min_size), ("max_size", max_size)):
        if value is not None:
            kwargs[key] = int(value)
    restore = restoring()  # predict: the checkpoint holds every parameter
    enum = _cached(name, weights) if weights and not restore else None
    backbone_enum = (
        _cached(backbone, weights_backbone) if weights_backbone and not restore else None
    )
    try:
        model: nn.Module = getattr(detection, name)(
            weights=enum, weights_backbone=backbone_enum, num_classes=num_outputs, **kwargs
        )
    except ValueError as error:
        raise WeightsError(
            f"{name} weights {weights!r}: {error}; the detector's published weights come with "
            "their COCO head: start from weights_backbone (or a weights_file of your own)"
        ) from None
    # Restored without the named weights, the backbone has BatchNorm2d where a pretrained
    # one has FrozenBatchNorm2d: the same parameters and, in eval mode, the same arithmetic.
    if weights_file is not None and not restore:
        _load_file(model, _check_file(weights_file), weights_file, name)
    return model


def _builder(name: str) -> Any:
    def build(input_shape: Sequence[int], num_outputs: int, **kwargs: Any) -> nn.Module:
        return torchvision_detector(name, num_outputs, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"torchvision's {name} (see recipe.vision.detection)."
    return build


fasterrcnn_mobilenet_v3_large_320_fpn = _builder("fasterrcnn_mobilenet_v3_large_320_fpn")
ssdlite320_mobilenet_v3_large = _builder("ssdlite320_mobilenet_v3_large")
retinanet_resnet50_fpn = _builder("retinanet_resnet50_fpn")
fcos_resnet50_fpn = _builder("fcos_resnet50_fpn")


def _conv(inputs: int, outputs: int, stride: int, norm: str) -> nn.Sequential:
    layer = nn.GroupNorm(8, outputs) if norm == "group" else nn.BatchNorm2d(outputs)
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False),
        layer,
        nn.ReLU(inplace=True),
    )


class TinyBackbone(nn.Module):
    """Strided convolutions, then an FPN over the last two stages (strides 8 and 16)."""

    def __init__(self, channels: int, widths: Sequence[int], norm: str, out_channels: int):
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork

        sizes = [channels, *map(int, widths)]
        self.stages = nn.ModuleList(
            nn.Sequential(_conv(a, b, 2, norm), *([_conv(b, b, 1, norm)] if i else []))
            for i, (a, b) in enumerate(itertools.pairwise(sizes))
        )
        self.fpn = FeaturePyramidNetwork(sizes[-2:], out_channels)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        out: OrderedDict[str, Tensor] = self.fpn(
            OrderedDict((str(i), f) for i, f in enumerate(features[-2:]))
        )
        return out


def tiny_fcos(
    input_shape: Sequence[int],
    num_outputs: int,
    widths: Sequence[int] = (16, 32, 64, 128),
    norm: str = "group",
    out_channels: int = 64,
    head_convs: int = 2,
    min_size: int = 64,
    max_size: int = 128,
    score_thresh: float = 0.05,
    **kwargs: Any,
) -> nn.Module:
    """torchvision's FCOS on a tiny backbone, for 64-128 px images (see the docstring).

    Args:
        widths: channels of each stride-2 stage (4 stages: strides 2, 4, 8, 16; the last
            two feed the FPN). `[16, 32, 64, 128]`: ~0.3 M parameters with the head.
        norm: `group` (GroupNorm: the same in training and eval) or `batch` (BatchNorm,
            whose running statistics make the trap the README measures).
        out_channels, head_convs: the FPN's width, and the convolutions per head branch.
        min_size, max_size: images are resized so the shorter side is `min_size` unless
            the longer would pass `max_size` (64 and 128: a 64 px image stays as it is).
        score_thresh: detections scored below are dropped before the metric (0.05, as
            COCO evaluation usually keeps; `predict.threshold` filters what predict shows).
        kwargs: passed to torchvision's FCOS (`nms_thresh`, `detections_per_img`, ...).
    """
    from torchvision.models.detection import FCOS
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.fcos import FCOSHead

    if norm not in ("group", "batch"):
        raise ValueError(f"norm: 'group' or 'batch', got {norm!r}")
    if len(widths) < 4:
        raise ValueError(f"widths: four stages (strides 2, 4, 8, 16), got {list(widths)}")
    backbone = TinyBackbone(int(input_shape[0]), widths, norm, out_channels)
    anchors = AnchorGenerator(((8,), (16,)), ((1.0,),) * 2)  # one point per cell, = stride
    grey = int(input_shape[0]) == 1
    return FCOS(
        backbone,
        num_classes=num_outputs,
        min_size=min_size,
        max_size=max_size,
        anchor_generator=anchors,
        head=FCOSHead(out_channels, 1, num_outputs, num_convs=head_convs),
        score_thresh=score_thresh,
        image_mean=[0.5] if grey else None,
        image_std=[0.25] if grey else None,
        **kwargs,
    )
