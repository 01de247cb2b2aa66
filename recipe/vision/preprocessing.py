"""What an image model expects of its input, decided before the data is built.

A pretrained network was trained on images resized, cropped and normalised one way; feeding
it anything else costs accuracy. So the recipe asks the model's config for that recipe
(`for_model`) before it builds the data, hands it to a data builder that names a
`preprocessing` parameter, and records it in the run directory so `predict` (and a server)
apply exactly the same.

torch-free: a plain dataclass that round-trips through JSON.
"""

from __future__ import annotations

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

    To be filled for `_target_: timm` (timm's pretrained config / resolve_data_config) and
    `_target_: torchvision` (the weights' transforms).
    """
    return None
