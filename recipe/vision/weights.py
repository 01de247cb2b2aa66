"""Where a pretrained model's weights are on this machine, without ever asking the network.

A GPU box is often offline, and a download that hangs is worse than an error. So the recipe
looks only in the places the libraries themselves cache weights, and in a file the config
names; when none has them it says in one line where it looked and what to fetch:

- timm: the Hugging Face hub cache (`HF_HOME`, default ~/.cache/huggingface) for weights
  published there (nearly all), else torch's hub cache for the few only at a URL. The recipe
  sets `HF_HUB_OFFLINE=1` (recipe.__main__), so huggingface_hub never reaches the network.
- torchvision: torch's hub cache, `$TORCH_HOME/hub/checkpoints` (default ~/.cache/torch).
- either: `weights_file: path/to.pth` (or .safetensors), relative to the project directory.

`python -m recipe weights CONFIG` is the one command that downloads (into those caches).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from recipe.missing_files import MissingFileError

_HF_FILES = ("model.safetensors", "pytorch_model.bin")  # timm's order of preference


_FROM_CHECKPOINT: ContextVar[bool] = ContextVar("from_checkpoint", default=False)


@contextlib.contextmanager
def from_checkpoint() -> Iterator[None]:
    """Build models without their pretrained weights: a checkpoint is about to replace
    every parameter (predict), so the weights need not be on this machine any more."""
    token = _FROM_CHECKPOINT.set(True)
    try:
        yield
    finally:
        _FROM_CHECKPOINT.reset(token)


def restoring() -> bool:
    """Whether models are being built for a checkpoint to fill (see `from_checkpoint`)."""
    return _FROM_CHECKPOINT.get()


class WeightsError(MissingFileError):
    """Pretrained weights that are not on this machine, or a weights file that does not fit."""


@dataclass(frozen=True)
class WeightsSource:
    """Where a model's published weights come from and where they are cached here.

    `hf_repo` + `hf_files` for the Hugging Face hub; `url` + `cache_file` for torch's hub.
    `found`: the cached file, or None when it is not on this machine.
    """

    label: str  # e.g. "timm resnet18.a1_in1k", "torchvision resnet18 IMAGENET1K_V1"
    hf_repo: str | None = None
    hf_files: tuple[str, ...] = ()
    url: str | None = None
    cache_file: str | None = None
    found: str | None = None

    def missing_message(self) -> str:
        """One line: where the recipe looked, and the exact file to fetch."""
        if self.hf_repo is not None:
            from huggingface_hub import constants

            looked = f"not in the Hugging Face cache {constants.HF_HUB_CACHE} as {self.hf_repo}"
            fetch = f"https://huggingface.co/{self.hf_repo}/resolve/main/{self.hf_files[0]}"
        else:
            looked = f"not in torch's hub cache as {self.cache_file}"
            fetch = str(self.url)
        return (
            f"{self.label}: pretrained weights are not on this machine ({looked}; no "
            "'weights_file:' set); with internet run `python -m recipe weights CONFIG`, "
            f"or download {fetch} and set 'weights_file: PATH'"
        )


def torch_hub_file(url: str) -> str:
    """Where torch's hub (torchvision, timm's URL weights) caches the file at `url`."""
    import torch.hub

    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(url).path))


def timm_source(name: str) -> WeightsSource | None:
    """Where timm gets the default (or tagged) weights of `name`; None when it has none."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        return None
    label = f"timm {cfg.architecture}.{cfg.tag}" if cfg.tag else f"timm {name}"
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        repo, _, revision = cfg.hf_hub_id.partition("@")
        files = (cfg.hf_hub_filename,) if cfg.hf_hub_filename else _HF_FILES
        found = None
        for filename in files:
            cached = try_to_load_from_cache(repo, filename, revision=revision or None)
            if isinstance(cached, str):
                found = cached
                break
        return WeightsSource(label, hf_repo=repo, hf_files=files, found=found)
    url = cfg.url[0] if isinstance(cfg.url, tuple) else str(cfg.url)
    cache_file = torch_hub_file(url)
    found = cache_file if os.path.isfile(cache_file) else None
    return WeightsSource(label, url=url, cache_file=cache_file, found=found)


def torchvision_weights(name: str, weights: str) -> Any:
    """The torchvision weights enum member `weights` names for model `name`
    (`DEFAULT`, `IMAGENET1K_V1` or `ResNet18_Weights.IMAGENET1K_V1`)."""
    from torchvision.models import get_model_weights

    enum = get_model_weights(name)
    return enum[weights.rpartition(".")[2]]


def torchvision_source(name: str, weights: Any) -> WeightsSource:
    """Where torchvision caches `weights` (an enum member) of model `name`."""
    cache_file = torch_hub_file(weights.url)
    found = cache_file if os.path.isfile(cache_file) else None
    label = f"torchvision {name} {type(weights).__name__}.{weights.name}"
    return WeightsSource(label, url=weights.url, cache_file=cache_file, found=found)


def weights_file_path(path: str, project_dir: str | None = None) -> str:
    """`weights_file:` as an absolute path (relative ones are in the project directory)."""
    return os.path.join(project_dir or os.getcwd(), os.path.expanduser(path))


def missing_weights_file(path: str, project_dir: str | None = None) -> str | None:
    """The message for a `weights_file:` that is not there, or None when it is."""
    full = weights_file_path(path, project_dir)
    if os.path.isfile(full):
        return None
    return (
        f"weights_file '{path}': no such file ({full}); put the weights there "
        "(a .pth/.pt state dict or .safetensors) or fix the path"
    )


def load_state_dict_file(path: str) -> dict[str, Any]:
    """A state dict from a .safetensors or torch file (also a {'state_dict': ...} wrapper)."""
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path, device="cpu")
    import torch

    loaded = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict):
        raise WeightsError(f"{path}: not a state dict (a mapping of parameter names)")
    return loaded
