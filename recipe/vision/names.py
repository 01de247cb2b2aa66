"""The full check of a timm / torchvision model reference: the name against the library's own
list (cached on disk for the quick check, see recipe.config.model_names) and whether the
weights it asks for are on this machine, before a run directory is made.
"""

from __future__ import annotations

import contextlib
from typing import Any

from recipe.config.model_names import cache_path, cached_names, library_version, name_problems
from recipe.io import atomic_write_json
from recipe.vision.weights import (
    missing_weights_file,
    restoring,
    timm_source,
    torchvision_source,
    torchvision_weights,
)


def _timm_names() -> dict[str, Any]:
    import timm

    return {"models": timm.list_models(), "pretrained": timm.list_pretrained()}


def _torchvision_names() -> dict[str, Any]:
    import torchvision.models as models

    listing: dict[str, Any] = {}
    for name in models.list_models(module=models):  # classification models only
        try:
            enum = models.get_model_weights(name)
        except (ValueError, KeyError):
            listing[name] = {"enum": None, "weights": []}
            continue
        listing[name] = {"enum": enum.__name__, "weights": list(enum.__members__)}
    return {"models": listing}


def library_names(library: str) -> dict[str, Any]:
    """The name lists of `library`, from the cache or (once per version) from the library,
    which is then cached for the quick check."""
    names = cached_names(library)
    if names is not None:
        return names
    names = _timm_names() if library == "timm" else _torchvision_names()
    version = library_version(library)
    if version is not None:
        # A read-only cache directory: the quick check just leaves names to this check.
        with contextlib.suppress(OSError):
            atomic_write_json(cache_path(library, version), names)
    return names


def full_problems(library: str, ref: dict[str, Any], project_dir: str) -> list[tuple[str, str]]:
    """(key, message) for a bad name or weights name, a missing weights_file, or pretrained
    weights that are in no cache here."""
    found = name_problems(library, ref, library_names(library))
    if found or not isinstance(ref.get("name"), str):
        return found
    if restoring():  # a resume: the checkpoint fills every parameter, weights or not
        return []
    name: str = ref["name"]
    weights_file = ref.get("weights_file")
    if isinstance(weights_file, str):
        problem = missing_weights_file(weights_file, project_dir)
        return [("weights_file", problem)] if problem else []
    if library == "timm" and ref.get("pretrained") is True:
        source = timm_source(name)
        if source is not None and source.found is None:
            return [("pretrained", source.missing_message())]
    weights = ref.get("weights")
    if library == "torchvision" and isinstance(weights, str):
        tv_source = torchvision_source(name, torchvision_weights(name, weights))
        if tv_source.found is None:
            return [("weights", tv_source.missing_message())]
    return []
