"""`python -m recipe weights CONFIG`: download the pretrained weights a config names into the
library's own cache, the one command of the recipe that uses the network.

Training, checks and predict never download (recipe.vision.weights); on a machine with
internet this fills the same caches they read (the Hugging Face hub cache for timm, torch's
hub cache for torchvision), so the next `train` finds the weights offline. Without internet,
the user downloads the file it names on another machine and copies it over (or points
`weights_file:` at it).
"""

from __future__ import annotations

import sys
from typing import Any

from recipe import EXIT_CONFIG_ERROR, EXIT_FAILED, EXIT_OK
from recipe.vision.weights import (
    WeightsSource,
    timm_source,
    torchvision_source,
    torchvision_weights,
)


def _source(ref: dict[str, Any]) -> WeightsSource | str:
    """Where the weights `ref` names come from, or why there is nothing to fetch."""
    library, name = ref.get("_target_"), ref.get("name")
    if library not in ("timm", "torchvision") or not isinstance(name, str):
        return f"model '{library}' is not a timm or torchvision model: no weights to fetch"
    if ref.get("weights_file"):
        return f"the model reads 'weights_file: {ref['weights_file']}': nothing to fetch"
    if library == "timm":
        if ref.get("pretrained") is not True:
            return f"timm {name} is not 'pretrained: true': no weights to fetch"
        source = timm_source(name)
        return source or f"timm {name} has no pretrained weights"
    if not isinstance(ref.get("weights"), str):
        return f"torchvision {name} names no 'weights:': no weights to fetch"
    return torchvision_source(name, torchvision_weights(name, ref["weights"]))


def _download(source: WeightsSource) -> str:
    """Fetch the file into the library's cache; returns its path."""
    if source.hf_repo is not None:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import RemoteEntryNotFoundError

        for filename in source.hf_files[:-1]:
            try:
                return hf_hub_download(source.hf_repo, filename)
            except RemoteEntryNotFoundError:
                continue  # not published under this name: timm tries the next one too
        return hf_hub_download(source.hf_repo, source.hf_files[-1])
    import os

    import torch.hub

    assert source.url is not None and source.cache_file is not None
    os.makedirs(os.path.dirname(source.cache_file), exist_ok=True)
    torch.hub.download_url_to_file(source.url, source.cache_file, progress=True)
    return source.cache_file


def fetch_weights(config_path: str, overrides: list[str]) -> int:
    """Download what `config_path`'s model needs; returns an exit status."""
    from recipe.checking import print_problems
    from recipe.config import ConfigError, check_source
    from recipe.config.source import read_config

    try:
        config = check_source(read_config(config_path), overrides)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EXIT_CONFIG_ERROR
    ref = config.data["model"]
    source = _source(ref if isinstance(ref, dict) else {"_target_": ref})
    if isinstance(source, str):
        print(f"{config_path}: {source}")
        return EXIT_OK
    if source.found is not None:
        print(f"{source.label}: already here, {source.found}")
        return EXIT_OK
    where = source.url or f"https://huggingface.co/{source.hf_repo}"
    print(f"{source.label}: downloading from {where}", flush=True)
    try:
        path = _download(source)
    except Exception as exc:  # any network or disk failure: one line, not a traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(
            f"{source.label}: download from {where} failed ({type(exc).__name__}: {reason}); "
            "fetch it on a machine with internet and set 'weights_file: PATH' to the copy",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"{source.label}: saved to {path}")
    return EXIT_OK
