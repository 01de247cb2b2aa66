"""Per-image transforms from the config: the eval transform a model expects, and the
training augmentation named from torchvision.transforms.v2.

Written in the config as a list, in the order applied, each item a v2 class name alone or
a one-key mapping of its name to its arguments:

    augment:
      - RandomResizedCrop: {scale: [0.5, 1.0]}     # size: the model's input size
      - RandomHorizontalFlip
      - ColorJitter: {brightness: 0.2, contrast: 0.2}
      - TrivialAugmentWide
      - RandomErasing: {p: 0.25}

The library's own classes do the work (no hand-written image code), and names and
arguments are checked before training (`augment_problems`) with did-you-mean. The
pipeline around the list is fixed, so evaluation and training see images the same way:

- evaluation and predict (`eval_transform`): resize the shorter side to `resize_size`,
  centre-crop to `input_size`, scale to [0, 1], normalise with mean / std;
- training (`train_transform`): a list holding RandomResizedCrop receives the image as
  read (the crop sets the size); any other list starts from the eval resize and crop. Then
  the list, then scale and normalise; RandomErasing runs after normalisation (as in
  torchvision's reference scripts), so erased pixels hold the mean colour.

torchvision is imported inside these functions only: configs without images never pay
for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from recipe.config.errors import did_you_mean
from recipe.vision.preprocessing import ImagePreprocessing

# v2 classes that make no sense as a per-image augmentation of a classification sample:
# containers, type conversions the pipeline does itself, batch mixing (`mixup:` /
# `cutmix:` keys), multi-crop outputs, and box / key-point / video operations.
_NOT_AUGMENTATIONS = frozenset(
    {
        "Transform", "Compose", "RandomApply", "RandomChoice", "RandomOrder", "Lambda",
        "LinearTransformation", "ToPILImage", "ToTensor", "ToImage", "PILToTensor",
        "ToPureTensor", "ConvertImageDtype", "ToDtype", "Normalize", "MixUp", "CutMix",
        "FiveCrop", "TenCrop", "ClampBoundingBoxes", "ClampKeyPoints",
        "ConvertBoundingBoxFormat", "SanitizeBoundingBoxes", "SanitizeKeyPoints",
        "SetClampingMode", "UniformTemporalSubsample", "RandomIoUCrop",
    }
)  # fmt: skip
# Transforms whose `size` defaults to the model's input size (height, width).
_SIZED = frozenset({"RandomResizedCrop", "RandomCrop", "CenterCrop", "Resize"})
# Run after normalisation rather than on the uint8 image.
_AFTER_NORMALIZE = frozenset({"RandomErasing"})

Problems = list[tuple[tuple[str | int, ...], str]]


def augmentation_names() -> list[str]:
    """Every torchvision.transforms.v2 class a config may name in `augment`."""
    from torchvision.transforms import v2

    return sorted(
        name
        for name in dir(v2)
        if inspect.isclass(getattr(v2, name))
        and issubclass(getattr(v2, name), v2.Transform)
        and name not in _NOT_AUGMENTATIONS
    )


def parse_augment(spec: Any) -> list[tuple[str, dict[str, Any]]]:
    """The `augment:` list as (name, arguments) pairs; raises ValueError on a bad item.

    Only the shape is checked here; names and arguments are `augment_problems`' job.
    """
    if not isinstance(spec, list):
        raise ValueError(
            "augment: a list of torchvision.transforms.v2 names, e.g. "
            "[RandomResizedCrop, RandomHorizontalFlip, {ColorJitter: {brightness: 0.2}}]"
        )
    items: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(spec):
        if isinstance(item, str):
            items.append((item, {}))
        elif isinstance(item, dict) and len(item) == 1:
            name, arguments = next(iter(item.items()))
            if arguments is None:
                arguments = {}
            if not isinstance(name, str) or not isinstance(arguments, dict):
                raise ValueError(
                    f"augment[{index}]: write '{name}: {{argument: value, ...}}' (a mapping "
                    f"of its arguments), got {arguments!r}"
                )
            items.append((name, dict(arguments)))
        else:
            raise ValueError(
                f"augment[{index}]: each item is a transform name or a one-key mapping "
                f"'Name: {{arguments}}', got {item!r}"
            )
    return items


def augment_problems(spec: Any) -> Problems:
    """What is wrong with an `augment:` list, each at its path below `augment`.

    A name not in v2 gets did-you-mean; an argument its class does not take gets
    did-you-mean against the class's parameters; a class that refuses its arguments says
    why (built once with a stand-in size, which is what training would do).
    """
    try:
        items = parse_augment(spec)
    except ValueError as error:
        return [((), str(error))]
    from torchvision.transforms import v2

    names = augmentation_names()
    problems: Problems = []
    for index, (name, arguments) in enumerate(items):
        at: tuple[str | int, ...] = (index,) if isinstance(spec[index], str) else (index, name)
        if name in ("MixUp", "CutMix"):
            key = name.lower()
            problems.append((at, f"{name} mixes whole batches: use the data key '{key}: "
                                 f"{{alpha: ...}}' instead of listing it in augment"))  # fmt: skip
            continue
        if name not in names:
            problems.append(
                (at, f"unknown augmentation '{name}'{did_you_mean(name, names)} "
                     "(any torchvision.transforms.v2 transform, by its class name)")
            )  # fmt: skip
            continue
        accepted = list(inspect.signature(getattr(v2, name)).parameters)
        unknown = [key for key in arguments if key not in accepted]
        for key in unknown:
            problems.append(
                ((*at, key), f"{name} has no argument '{key}'{did_you_mean(key, accepted)} "
                             f"(it accepts: {', '.join(accepted)})")
            )  # fmt: skip
        if unknown:
            continue
        try:
            _build(name, arguments, (8, 8))
        except (TypeError, ValueError) as error:
            problems.append((at, f"{name}: {error}"))
    return problems


def eval_transform(pre: ImagePreprocessing) -> Any:
    """PIL image -> normalised float tensor `input_size`, as the model expects it."""
    from torchvision.transforms import v2

    return v2.Compose([v2.ToImage(), *_resize_and_crop(pre), *_scale_and_normalize(pre)])


def train_transform(pre: ImagePreprocessing, spec: list[Any]) -> Any:
    """PIL image -> augmented, normalised float tensor (see the module docstring)."""
    from torchvision.transforms import v2

    items = parse_augment(spec)
    size = (pre.input_size[1], pre.input_size[2])
    before = [_build(n, a, size) for n, a in items if n not in _AFTER_NORMALIZE]
    after = [_build(n, a, size) for n, a in items if n in _AFTER_NORMALIZE]
    crops_itself = any(n == "RandomResizedCrop" for n, _ in items)
    start = [] if crops_itself else _resize_and_crop(pre)
    steps = [v2.ToImage(), *start, *before, *_scale_and_normalize(pre), *after]
    if not crops_itself and any(n in _SIZED for n, _ in items):
        steps.insert(len(steps) - len(after), v2.CenterCrop(list(size)))  # back to size
    return v2.Compose(steps)


def batch_mixing(mixup: dict[str, Any] | None, cutmix: dict[str, Any] | None, classes: int) -> Any:
    """v2.MixUp, v2.CutMix, or a random choice of the two per batch; None for neither.

    Called with `(images, labels)` it returns the mixed images and soft labels
    `(B, classes)`, which CrossEntropyLoss takes as class probabilities.
    """
    from torchvision.transforms import v2

    found = [
        cls(**settings, num_classes=classes)
        for cls, settings in ((v2.MixUp, mixup), (v2.CutMix, cutmix))
        if settings is not None
    ]
    if not found:
        return None
    return found[0] if len(found) == 1 else v2.RandomChoice(found)


def mixing_problems(key: str, settings: Any) -> Problems:
    """What is wrong with a `mixup:` / `cutmix:` mapping."""
    if settings is None:
        return []
    if not isinstance(settings, dict):
        return [((), f"{key}: a mapping such as {{alpha: 0.2}}, got {settings!r}")]
    problems: Problems = []
    for name, value in settings.items():
        if name != "alpha":
            problems.append(((name,), f"{key} has no setting '{name}' (the only one is alpha)"))
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            problems.append(((name,), f"{key}.alpha: a number > 0, got {value!r}"))
    return problems


def _build(name: str, arguments: dict[str, Any], size: tuple[int, int]) -> Any:
    from torchvision.transforms import v2

    arguments = {k: tuple(v) if isinstance(v, list) else v for k, v in arguments.items()}
    if name in _SIZED and "size" not in arguments:
        arguments["size"] = list(size)
    return getattr(v2, name)(**arguments)


def _resize_and_crop(pre: ImagePreprocessing) -> list[Any]:
    from torchvision.transforms import v2

    return [
        v2.Resize(pre.resize_size, interpolation=_interpolation(pre.interpolation)),
        v2.CenterCrop([pre.input_size[1], pre.input_size[2]]),
    ]


def _scale_and_normalize(pre: ImagePreprocessing) -> list[Any]:
    import torch
    from torchvision.transforms import v2

    return [
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(pre.mean), std=list(pre.std)),
    ]


def _interpolation(name: str) -> Any:
    from torchvision.transforms import InterpolationMode

    return InterpolationMode(name.lower())


def default_preprocessing(
    size: tuple[int, int], channels: int, mean: Sequence[float], std: Sequence[float]
) -> ImagePreprocessing:
    """The preprocessing of an image dataset no model dictates: its own size, its stats.

    The shorter side goes to the larger of height and width, so the centre crop always
    lies inside the image (a square image at a square size is just resized)."""
    return ImagePreprocessing(
        input_size=(channels, size[0], size[1]),
        resize_size=max(size),
        mean=tuple(mean),
        std=tuple(std),
        source="data",
    )
