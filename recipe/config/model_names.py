"""The names timm and torchvision know, checked without importing either (or torch).

`model: {_target_: timm, name: resnet18}` is checked against the library's own list. Asking
the library costs an import of torch (and 1 s more for torchvision), too slow for the check
the editor runs on every keystroke. So the full check (`recipe check`, `train`), which imports
them anyway, writes the lists once to a small JSON file under the user's cache directory,
keyed by the library's installed version; the quick check reads that file when it is there
and leaves the names to the full check when it is not (a new version, a fresh machine).

Cache file: `$XDG_CACHE_HOME/autotrain-tui/model-names/<library>-<version>.json`
(`~/.cache` when XDG_CACHE_HOME is unset), holding for timm `{"models": [...],
"pretrained": [...]}` (architectures; `arch.tag` names with weights) and for torchvision
`{"models": {name: {"enum": "ResNet18_Weights", "weights": ["IMAGENET1K_V1", "DEFAULT"]}}}`.
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from typing import Any

from recipe.config.errors import did_you_mean

LIBRARIES = ("timm", "torchvision")

_READ: dict[str, dict[str, Any]] = {}


def library_version(library: str) -> str | None:
    """The installed version of `library` (from its metadata: no import), or None."""
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return None


def cache_path(library: str, version: str) -> str:
    """Where the name list of `library` at `version` is kept."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "autotrain-tui", "model-names", f"{library}-{version}.json")


def cached_names(library: str) -> dict[str, Any] | None:
    """The cached name list of the installed `library`, or None when not cached yet."""
    version = library_version(library)
    if version is None:
        return None
    path = cache_path(library, version)
    if path in _READ:
        return _READ[path]
    try:
        with open(path, encoding="utf-8") as handle:
            names = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(names, dict) or "models" not in names:
        return None
    _READ[path] = names
    return names


# The other library's way of asking for weights, which would otherwise reach the library:
# torchvision still maps `pretrained=True` to a download of its default weights.
_FOREIGN_KEYS = {
    "timm": (
        "weights",
        "timm models take 'pretrained: true' (a tag in the name picks the "
        "weights, e.g. resnet18.a1_in1k), not 'weights:'",
    ),
    "torchvision": (
        "pretrained",
        "torchvision models take 'weights: DEFAULT' (or a weights "
        "name such as IMAGENET1K_V1), not 'pretrained:'",
    ),
}


def key_problems(library: str, ref: dict[str, Any]) -> list[tuple[str, str]]:
    """A key of the other library's spelling; needs no list, so the quick check always runs it."""
    key, message = _FOREIGN_KEYS[library]
    return [(key, message)] if key in ref else []


def name_problems(
    library: str, ref: dict[str, Any], names: dict[str, Any]
) -> list[tuple[str, str]]:
    """What is wrong with the model `ref` names, against `names` (the library's lists):
    (the key to point at, the message). Empty when the name (and weights) exist."""
    name = ref.get("name")
    if not isinstance(name, str) or not name:
        return []  # missing or not a string: the signature check says so
    if library == "timm":
        return _timm_problems(name, ref, names)
    return _torchvision_problems(name, ref, names)


def _timm_problems(name: str, ref: dict[str, Any], names: dict[str, Any]) -> list[tuple[str, str]]:
    models: list[str] = names["models"]
    pretrained: list[str] = names.get("pretrained", [])
    arch, _, tag = name.partition(".")
    if arch not in models:
        return [
            (
                "name",
                f"timm has no model '{arch}'{did_you_mean(arch, models)} "
                f"(its names: timm.list_models('{arch[:3]}*'))",
            )
        ]
    tags = [p for p in pretrained if p.partition(".")[0] == arch]
    if tag and name not in tags:
        listing = ", ".join(tags) or "none"
        return [
            (
                "name",
                f"timm model '{arch}' has no pretrained tag '{tag}'"
                f"{did_you_mean(name, tags)} (its tags: {listing})",
            )
        ]
    if ref.get("pretrained") is True and not tags and not ref.get("weights_file"):
        return [
            (
                "pretrained",
                f"timm model '{arch}' has no pretrained weights; set 'pretrained: false' "
                "or name a file with 'weights_file: PATH'",
            )
        ]
    return []


def _torchvision_problems(
    name: str, ref: dict[str, Any], names: dict[str, Any]
) -> list[tuple[str, str]]:
    models: dict[str, Any] = names["models"]
    if name not in models:
        return [
            (
                "name",
                f"torchvision has no classification model '{name}'"
                f"{did_you_mean(name, models)} (its names: torchvision.models.list_models())",
            )
        ]
    weights = ref.get("weights")
    if weights is None or not isinstance(weights, str):
        return []
    entry = models[name]
    members: list[str] = entry["weights"]
    enum = entry.get("enum") or "none"
    member = weights
    if "." in weights:
        prefix, _, member = weights.rpartition(".")
        if prefix != enum:
            return [
                (
                    "weights",
                    f"torchvision model '{name}' takes weights of {enum}, not '{weights}' "
                    f"(write e.g. 'weights: {members[0] if members else 'DEFAULT'}')",
                )
            ]
    if member not in members:
        listing = ", ".join(members) or "none: use 'weights: null'"
        return [
            (
                "weights",
                f"torchvision model '{name}' has no weights '{member}'"
                f"{did_you_mean(member, members)} ({enum}: {listing})",
            )
        ]
    return []
