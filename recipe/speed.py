"""How fast a run goes on its device: one decision from the device's capabilities and the config.

What the best GPU training scripts do, decided in one place and printed once per run
(`speed: bf16-mixed, channels_last, cudnn.benchmark, pinned`):

- precision `auto`: bf16-mixed on a CUDA device that computes in bfloat16 (Ampere and
  later), else 32; an explicit `trainer.precision` is kept as written;
- `channels_last` (`trainer.channels_last: auto`): model and input batches in NHWC on CUDA
  for a network with 2-D convolutions, the layout tensor cores and cuDNN are fastest in;
- `torch.backends.cudnn.benchmark` (`trainer.benchmark: auto`): on CUDA unless
  `trainer.deterministic` (benchmarking picks kernels by timing, which varies);
- pinned host memory for DataLoader batches (`dataloader.pin_memory: auto`: on CUDA), so
  the copy to the device can be asynchronous (Lightning moves batches with
  `non_blocking=True`);
- `trainer.compile: true`: `torch.compile` on the model (off by default: compiling takes
  seconds to minutes, repaid only over long runs).

The decision (`plan`) is torch-free and pure, so it is tested for every device kind on any
machine; only `probe` asks torch what the device can do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AUTO = "auto"
CUDA_ACCELERATORS = ("auto", "gpu", "cuda")


@dataclass(frozen=True)
class Capabilities:
    """What the device a run trains on can do; from `probe`, the one thing tests fake."""

    device: str  # "cuda", "mps" or "cpu"
    bf16: bool = False  # computes in bfloat16 natively (CUDA compute capability 8.0+)
    name: str = ""  # e.g. "NVIDIA H100 80GB HBM3", for the log line


def probe(accelerator: str) -> Capabilities:
    """The capabilities of the device `trainer.accelerator` selects on this machine."""
    import torch

    wants_cuda = accelerator in CUDA_ACCELERATORS
    if wants_cuda and torch.cuda.is_available():
        return Capabilities(
            device="cuda",
            bf16=torch.cuda.is_bf16_supported(including_emulation=False),
            name=torch.cuda.get_device_name(),
        )
    if accelerator in ("auto", "gpu", "mps") and torch.backends.mps.is_available():
        return Capabilities(device="mps", name="Apple MPS")
    return Capabilities(device="cpu")


@dataclass(frozen=True)
class SpeedPlan:
    """What a run uses; each field is handed to the Trainer, the loaders or the module."""

    precision: str | int
    channels_last: bool
    benchmark: bool
    pin_memory: bool
    compile: bool
    device: str
    device_name: str = ""

    def describe(self, pinned: bool | None = None) -> str:
        """The one log line, e.g. `speed: bf16-mixed, channels_last, cudnn.benchmark, pinned`.

        `pinned`: whether the loader really pins (the in-memory fast path has no host-side
        batches to pin); the plan's wish when not given.
        """
        parts = [str(self.precision)]
        if self.channels_last:
            parts.append("channels_last")
        if self.benchmark:
            parts.append("cudnn.benchmark")
        if self.pin_memory if pinned is None else pinned:
            parts.append("pinned")
        if self.compile:
            parts.append("torch.compile")
        where = self.device + (f" {self.device_name}" if self.device_name else "")
        return f"speed: {', '.join(parts)} ({where})"


def _switch(value: Any, auto: bool) -> bool:
    return auto if value == AUTO else bool(value)


def plan(
    trainer: dict[str, Any],
    dataloader: dict[str, Any],
    capabilities: Capabilities,
    *,
    conv_net: bool,
) -> SpeedPlan:
    """The speed settings for a run: config sections `trainer` and `dataloader`, the
    device's `capabilities`, and whether the model has 2-D convolutions (`conv_net`)."""
    cuda = capabilities.device == "cuda"
    precision = trainer.get("precision", AUTO)
    if precision == AUTO:
        precision = "bf16-mixed" if cuda and capabilities.bf16 else "32"
    deterministic = bool(trainer.get("deterministic", False))
    return SpeedPlan(
        precision=precision,
        channels_last=_switch(trainer.get("channels_last", AUTO), cuda and conv_net),
        benchmark=_switch(trainer.get("benchmark", AUTO), cuda and not deterministic),
        pin_memory=_switch(dataloader.get("pin_memory", AUTO), cuda),
        compile=bool(trainer.get("compile", False)),
        device=capabilities.device,
        device_name=capabilities.name,
    )
