"""Pretrained image models by name: `model: {_target_: timm, name: resnet18, pretrained: true}`
and `model: {_target_: torchvision, name: efficientnet_b0, weights: DEFAULT}`.

The number of classes comes from the data (`num_outputs`, injected by the recipe) and the
classifier is replaced the way each library does it: timm builds the model with
`num_classes` and drops the pretrained classifier itself; torchvision loads the weights for
the original head, then the recipe swaps the final classifier layer for a new one. Other keys
of the reference go to the library (`drop_rate` for timm, `dropout` for torchvision).

Weights are read only from this machine (recipe.vision.weights): never a download here.
timm and torchvision are imported inside these functions, so a config that names neither
never pays for them.
"""

from __future__ import annotations

import copy
from typing import Any

from recipe.config.model_names import key_problems
from recipe.vision.weights import (
    WeightsError,
    load_state_dict_file,
    missing_weights_file,
    restoring,
    timm_source,
    torchvision_source,
    torchvision_weights,
    weights_file_path,
)


def _data_channels(input_shape: Any) -> int | None:
    """Channels of image data `(C, H, W)`; None for data that is not images."""
    if input_shape is not None and len(input_shape) == 3:
        return int(input_shape[0])
    return None


def _check_file(weights_file: str) -> str:
    """The absolute path of `weights_file:`; WeightsError when there is no such file."""
    problem = missing_weights_file(weights_file)
    if problem is not None:
        raise WeightsError(problem)
    return weights_file_path(weights_file)


def timm_model(
    name: str,
    num_outputs: int,
    pretrained: bool = False,
    weights_file: str | None = None,
    input_shape: tuple[int, ...] | None = None,
    **kwargs: Any,
) -> Any:
    """A timm model (`timm.create_model`) with a `num_outputs`-way classifier.

    Args:
        name: a timm name, `resnet18` or with a pretrained tag, `resnet18.a1_in1k`.
        pretrained: load the published weights from the Hugging Face (or torch hub) cache.
        weights_file: load these weights instead (a state dict saved from the same
            architecture, .pth or .safetensors); implies pretrained.
        kwargs: passed to timm.create_model (drop_rate, drop_path_rate, in_chans, ...).
            `in_chans` defaults to the data's channels: grayscale images get the first
            convolution adapted by timm (pretrained RGB weights summed).
    """
    import timm

    channels = _data_channels(input_shape)
    if channels is not None:
        given = kwargs.setdefault("in_chans", channels)
        if given != channels:
            raise WeightsError(
                f"timm {name}: in_chans {given} but the images have {channels} channel(s); "
                "drop 'in_chans' (it follows the data) or change the data's grayscale setting"
            )
    path = _check_file(weights_file) if weights_file and not restoring() else None
    if restoring():
        pretrained = False  # the checkpoint holds every parameter
    elif path is not None:
        # timm's own loader: adapts in_chans and drops the classifier when sizes differ.
        kwargs["pretrained_cfg_overlay"] = {"file": path}
        pretrained = True
    elif pretrained:
        source = timm_source(name)
        if source is None:
            raise WeightsError(
                f"timm {name}: has no pretrained weights; set 'pretrained: false' "
                "or name a file with 'weights_file: PATH'"
            )
        if source.found is None:
            raise WeightsError(source.missing_message())
    return timm.create_model(name, pretrained=pretrained, num_classes=num_outputs, **kwargs)


def torchvision_model(
    name: str,
    num_outputs: int,
    weights: str | None = None,
    weights_file: str | None = None,
    input_shape: tuple[int, ...] | None = None,
    **kwargs: Any,
) -> Any:
    """A torchvision classification model (`torchvision.models.get_model`) with a
    `num_outputs`-way classifier.

    Args:
        name: a name of torchvision.models.list_models(), e.g. `resnet18`.
        weights: `DEFAULT`, a member like `IMAGENET1K_V1`, or `ResNet18_Weights.IMAGENET1K_V1`;
            loaded from torch's hub cache ($TORCH_HOME/hub/checkpoints).
        weights_file: load this state dict instead (saved from the same architecture with
            its original classifier, .pth or .safetensors).
        kwargs: passed to the model's builder (e.g. `dropout`).
    Grayscale images: the first convolution takes one channel, its pretrained RGB weights
    summed (as timm adapts in_chans).
    """
    from torchvision.models import get_model

    if "pretrained" in kwargs:  # torchvision would turn it into a download
        raise WeightsError(key_problems("torchvision", kwargs)[0][1])
    enum = torchvision_weights(name, weights) if weights else None
    if enum is None and weights_file is None:
        model = get_model(name, weights=None, num_classes=num_outputs, **kwargs)
    else:
        if enum is not None:  # the classifier the weights were trained with
            kwargs.setdefault("num_classes", len(enum.meta["categories"]))
        if restoring():  # the same layers as when the weights were loaded, left unloaded
            model = get_model(name, weights=None, **kwargs)
        elif weights_file is not None:
            model = get_model(name, weights=None, **kwargs)
            _load_file(model, _check_file(weights_file), weights_file, name)
        else:
            source = torchvision_source(name, enum)
            if source.found is None:
                raise WeightsError(source.missing_message())
            model = get_model(name, weights=enum, **kwargs)  # from the cache: no download
        _replace_head(model, num_outputs)
    channels = _data_channels(input_shape)
    if channels is not None and channels != 3:
        _adapt_first_conv(model, channels, name)
    return model


def _load_file(model: Any, path: str, written: str, name: str) -> None:
    try:
        model.load_state_dict(load_state_dict_file(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[1:2] or [str(exc)]
        raise WeightsError(
            f"weights_file '{written}' does not fit torchvision {name}: "
            f"{first[0].strip()} (save the state dict of the same architecture)"
        ) from None


def head_name(model: Any) -> str:
    """The dotted name of a library model's final classifier layer, the one the recipe
    replaces: timm's own notion (`pretrained_cfg["classifier"]`, e.g. `head.fc`), else the
    last Linear (squeezenet: the last convolution). For freezing all but the head."""
    from torch import nn

    classifier = getattr(model, "pretrained_cfg", {}).get("classifier")
    if isinstance(classifier, (list, tuple)):  # several heads (distilled ViTs): the first
        classifier = classifier[0]
    if isinstance(classifier, str):
        return classifier
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        names = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    return names[-1]


def _replace_head(model: Any, num_outputs: int) -> None:
    """Swap the final classifier layer (`head_name`) for a fresh one with `num_outputs`."""
    from torch import nn

    path = head_name(model)
    old = model.get_submodule(path)
    if isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_outputs, bias=old.bias is not None)
    else:
        new = nn.Conv2d(old.in_channels, num_outputs, kernel_size=old.kernel_size)
    parent_path, _, attribute = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, attribute, new)


def _adapt_first_conv(model: Any, channels: int, name: str) -> None:
    """Make the first convolution take `channels` (1) instead of RGB."""
    from torch import nn

    found = next(
        ((n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)), (None, None)
    )
    path, conv = found
    if channels != 1 or conv is None or conv.in_channels != 3 or conv.groups != 1:
        raise WeightsError(
            f"torchvision {name}: takes 3-channel images, the data has {channels}; "
            "read the images as RGB (grayscale: false) or use timm, whose in_chans adapts"
        )
    new = copy.deepcopy(conv)  # the same stride, padding, bias: one input channel
    new.in_channels = 1
    new.weight = nn.Parameter(conv.weight.detach().sum(dim=1, keepdim=True))
    parent_path, _, attribute = str(path).rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, attribute, new)
