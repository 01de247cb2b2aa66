"""Seeded image augmentation on whole batches of tensors.

Augmenting a batch at once (one random draw per batch, on the batch's device) keeps the
data path fast: no per-sample Python, no PIL round trip, and it runs on the GPU after
the batch is moved there. The random numbers come from this object's own
`torch.Generator`, so the same seed gives the same augmentations whatever else in the
program draws random numbers.

The config schema (all keys optional; an empty or absent `augment` means none):

    augment:
      hflip: 0.5              # probability of flipping each image left-right
      vflip: 0.0              # probability of flipping each image upside down
      crop: 2                 # random shift: pad 2 px on every side, crop back to size
      # crop: {padding: 2}    # the same, spelled out
      noise: 0.05             # std of Gaussian noise added, in normalised units

Inputs are expected to be normalised already (mean 0), so padding with zeros pads with
the mean colour. Normalisation itself is part of preprocessing (`normalize: true`),
applied to training and validation data alike.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from recipe.data.errors import DataError

AUGMENT_KEYS = ("hflip", "vflip", "crop", "noise")


class ImageAugment:
    """Random flips, shifts (pad-and-crop) and noise for a batch `(B, C, H, W)`.

    Calling it returns a new tensor; the input is never modified.
    """

    def __init__(
        self,
        *,
        hflip: float = 0.0,
        vflip: float = 0.0,
        crop_padding: int = 0,
        noise: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.hflip = hflip
        self.vflip = vflip
        self.crop_padding = crop_padding
        self.noise = noise
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    @classmethod
    def from_config(cls, config: dict[str, Any], *, seed: int = 0) -> ImageAugment:
        """Build from the `augment:` mapping described in this module's docstring."""
        if not isinstance(config, dict):
            raise DataError(
                f"augment must be a mapping such as {{hflip: 0.5, crop: 2, noise: 0.05}}, "
                f"got {config!r}"
            )
        unknown = sorted(set(config) - set(AUGMENT_KEYS))
        if unknown:
            raise DataError(
                f"augment: unknown key(s) {unknown}; valid keys are {list(AUGMENT_KEYS)}"
            )
        crop = config.get("crop", 0)
        if isinstance(crop, dict):
            extra = sorted(set(crop) - {"padding"})
            if extra:
                raise DataError(f"augment.crop: unknown key(s) {extra}; the only key is padding")
            crop = crop.get("padding", 0)
        if crop is None or crop is False:
            crop = 0
        if isinstance(crop, bool) or not isinstance(crop, int) or crop < 0:
            raise DataError(f"augment.crop: padding must be a whole number >= 0, got {crop!r}")
        probabilities = {}
        for key in ("hflip", "vflip"):
            value = config.get(key) or 0.0
            if isinstance(value, bool):
                value = 0.5 if value else 0.0
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise DataError(f"augment.{key}: a probability between 0 and 1, got {value!r}")
            probabilities[key] = float(value)
        noise = config.get("noise") or 0.0
        if isinstance(noise, bool) or not isinstance(noise, int | float) or noise < 0:
            raise DataError(f"augment.noise: a standard deviation >= 0, got {noise!r}")
        return cls(
            hflip=probabilities["hflip"],
            vflip=probabilities["vflip"],
            crop_padding=crop,
            noise=float(noise),
            seed=seed,
        )

    def __call__(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(
                f"ImageAugment expects a batch (B, C, H, W), got shape {tuple(x.shape)}"
            )
        generator = self._generator(x.device)
        batch = x.shape[0]
        if self.hflip > 0:
            flip = torch.rand(batch, generator=generator, device=x.device) < self.hflip
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
        if self.vflip > 0:
            flip = torch.rand(batch, generator=generator, device=x.device) < self.vflip
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-2), x)
        if self.crop_padding > 0:
            x = self._random_shift(x, generator)
        if self.noise > 0:
            x = x + self.noise * torch.randn(
                x.shape, generator=generator, device=x.device, dtype=x.dtype
            )
        return x

    def _random_shift(self, x: Tensor, generator: torch.Generator) -> Tensor:
        pad = self.crop_padding
        batch, channels, height, width = x.shape
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        top = torch.randint(0, 2 * pad + 1, (batch,), generator=generator, device=x.device)
        left = torch.randint(0, 2 * pad + 1, (batch,), generator=generator, device=x.device)
        rows = top[:, None] + torch.arange(height, device=x.device)
        cols = left[:, None] + torch.arange(width, device=x.device)
        index_b = torch.arange(batch, device=x.device).view(-1, 1, 1, 1)
        index_c = torch.arange(channels, device=x.device).view(1, -1, 1, 1)
        return padded[index_b, index_c, rows[:, None, :, None], cols[:, None, None, :]]

    def _generator(self, device: torch.device) -> torch.Generator:
        # One generator per device, created on first use, so augmentation runs where
        # the batch is (CPU or GPU) and stays reproducible on each.
        if device not in self._generators:
            generator = torch.Generator(device=device)
            generator.manual_seed(self.seed)
            self._generators[device] = generator
        return self._generators[device]

    def __getstate__(self) -> dict[str, Any]:
        # Generators do not pickle; a copy (a DDP worker, a checkpoint) starts afresh.
        state = self.__dict__.copy()
        state["_generators"] = {}
        return state

    def __repr__(self) -> str:
        return (
            f"ImageAugment(hflip={self.hflip}, vflip={self.vflip}, "
            f"crop_padding={self.crop_padding}, noise={self.noise}, seed={self.seed})"
        )
