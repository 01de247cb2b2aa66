"""What an image model expects of its input, decided before the data is built.

A pretrained network was trained on images resized, cropped and normalised one way; feeding
it anything else costs accuracy. So the recipe asks the model's config for that recipe
(`for_model`) before it builds the data, hands it to a data builder that names a
`preprocessing` parameter, and records it in the run directory so `predict` (and a server)
apply exactly the same.

torch-free: a plain dataclass that round-trips through JSON.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImagePreprocessing:
    """How images are turned into the model's input tensor.

    Evaluation: resize the shorter side to `resize_size`, centre-crop to `input_size`,
    scale to [0, 1], normalise with `mean` / `std`. Training replaces resize+crop with
    the configured augmentation (e.g. RandomResizedCrop to `input_size`).

    Attributes:
        input_size: (channels, height, width) the model takes.
        resize_size: shorter side before the centre crop (e.g. 256 for a 224 crop).
        interpolation: a torchvision InterpolationMode name: bilinear, bicubic, nearest.
        mean, std: per-channel normalisation after scaling to [0, 1].
        source: where these came from, for the run directory and error messages
            (e.g. "timm:resnet18.a1_in1k", "torchvision:ResNet18_Weights.IMAGENET1K_V1",
            "data" when nothing names them).
    """

    input_size: tuple[int, int, int]
    resize_size: int
    interpolation: str = "bilinear"
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    source: str = "default"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready mapping (lists, not tuples)."""
        data = asdict(self)
        for key in ("input_size", "mean", "std"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImagePreprocessing:
        """The inverse of `to_json`."""
        return cls(
            input_size=(
                int(data["input_size"][0]),
                int(data["input_size"][1]),
                int(data["input_size"][2]),
            ),
            resize_size=int(data["resize_size"]),
            interpolation=str(data.get("interpolation", "bilinear")),
            mean=tuple(float(v) for v in data["mean"]),
            std=tuple(float(v) for v in data["std"]),
            source=str(data.get("source", "default")),
            extra=dict(data.get("extra", {})),
        )


def for_model(model_ref: Any) -> ImagePreprocessing | None:
    """The preprocessing the model named by a config's `model:` reference expects, or None
    when it names none (built-in models, custom classes: the data decides).

    `_target_: timm`: the model's pretrained config (`timm.data.resolve_data_config`), that
    of its default tag when no tag is named, so a model trained from scratch still gets
    its architecture's defaults. `_target_: torchvision`: the named weights' transforms
    (`weights.transforms()`), else those of its DEFAULT weights; an architecture without
    any takes ImageNet's 224/256 bilinear. `in_chans: 1` averages mean/std to one channel.
    """
    if not isinstance(model_ref, dict) or not isinstance(model_ref.get("name"), str):
        return None
    target = model_ref.get("_target_")
    if target == "timm":
        return _timm(model_ref)
    if target == "torchvision":
        return _torchvision(model_ref)
    return None


def _one_channel(values: tuple[float, ...], channels: int) -> tuple[float, ...]:
    if channels == 1 and len(values) > 1:
        return (sum(values) / len(values),)
    return values


def _timm(ref: dict[str, Any]) -> ImagePreprocessing:
    from timm.data import resolve_data_config
    from timm.models import get_pretrained_cfg

    name: str = ref["name"]
    cfg = get_pretrained_cfg(name)
    resolved = resolve_data_config(
        pretrained_cfg=cfg.to_dict() if cfg is not None else None,
        args={"input_size": (3, 224, 224)} if cfg is None else {},
    )
    channels = int(ref.get("in_chans") or 3)
    _, height, width = resolved["input_size"]
    crop_pct = float(resolved["crop_pct"])
    source = f"timm:{cfg.architecture}.{cfg.tag}" if cfg is not None and cfg.tag else f"timm:{name}"
    return ImagePreprocessing(
        input_size=(channels, int(height), int(width)),
        resize_size=math.floor(min(height, width) / crop_pct),  # timm's scale_size
        interpolation=str(resolved["interpolation"]),
        mean=_one_channel(tuple(float(v) for v in resolved["mean"]), channels),
        std=_one_channel(tuple(float(v) for v in resolved["std"]), channels),
        source=source,
        extra={"crop_pct": crop_pct, "crop_mode": str(resolved.get("crop_mode", "center"))},
    )


def _torchvision(ref: dict[str, Any]) -> ImagePreprocessing:
    from torchvision.models import get_model_weights

    name: str = ref["name"]
    enum = get_model_weights(name)
    weights = ref.get("weights")
    member = enum[str(weights).rpartition(".")[2]] if weights else enum.__members__.get("DEFAULT")
    if member is None:
        return ImagePreprocessing(
            input_size=(3, 224, 224), resize_size=256, source=f"torchvision:{name}"
        )
    transforms = member.transforms()
    crop = int(transforms.crop_size[0])
    return ImagePreprocessing(
        input_size=(3, crop, crop),
        resize_size=int(transforms.resize_size[0]),
        interpolation=transforms.interpolation.value,
        mean=tuple(float(v) for v in transforms.mean),
        std=tuple(float(v) for v in transforms.std),
        source=f"torchvision:{type(member).__name__}.{member.name}",
    )
