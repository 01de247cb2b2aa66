"""Batches for training: sliced from in-memory tensors when possible, else a DataLoader.

A `DataLoader` over a `TensorDataset` fetches samples one by one and collates them, a
Python loop per sample. For data that already sits in memory as tensors,
`TensorBatchLoader` gathers each batch with one indexing operation per tensor, which is
many times faster and returns the same batches. `make_loader` picks the fast
path when it applies, and a well-configured `DataLoader` otherwise.
"""

from __future__ import annotations

import math
import random
import signal
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset


class EpochPermutation:
    """The sample order of one epoch: a seeded permutation (or identity), per rank.

    Lightning calls `set_epoch` before every epoch on an object found at
    `loader.sampler`, as it does for a `DistributedSampler`; so the order depends on the
    true epoch number (also after resuming). Without Lightning, each pass over the
    loader advances the epoch by one.

    Under `torch.distributed` each rank takes every `world_size`-th index of the same
    permutation (padded by wrapping around to equal length), so ranks see disjoint
    shards, as Lightning's `DistributedSampler` would give a `DataLoader`.
    """

    def __init__(
        self,
        size: int,
        *,
        shuffle: bool,
        seed: int,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        # `None`: read from torch.distributed when it is initialised (as Lightning's
        # DDP does before asking for loaders); one replica otherwise.
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self._epoch_set = False

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        self._epoch_set = True

    def next_epoch_order(self) -> Tensor:
        """Indices for the coming epoch; then move on to the next epoch."""
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.arange(self.size)
        rank, world = self._rank_and_world()
        if world > 1:
            per_rank = math.ceil(self.size / world)
            order = order.repeat(math.ceil(per_rank * world / self.size))[: per_rank * world]
            order = order[rank::world]
        if not self._epoch_set:
            self.epoch += 1
        self._epoch_set = False
        return order

    def __len__(self) -> int:
        _, world = self._rank_and_world()
        return math.ceil(self.size / world)

    def _rank_and_world(self) -> tuple[int, int]:
        rank, world = 0, 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        return (
            rank if self.rank is None else self.rank,
            world if self.num_replicas is None else self.num_replicas,
        )


class TensorBatchLoader:
    """Iterate over batches gathered from tensors held in memory, in a seeded order.

    Yields tuples `(x, y, ...)`, one tensor per input tensor, like a `DataLoader` over a
    `TensorDataset` with the default collate, in the epoch's order (`EpochPermutation`).
    Batches are gathered, fresh tensors: changing one does not change the data.

    Args:
        tensors: a `TensorDataset`, or tensors with the same first dimension.
        batch_size: samples per batch.
        shuffle: a new seeded order every epoch (seed + epoch); otherwise the stored order.
        drop_last: leave out the last batch when it is smaller than `batch_size`.
        seed: base seed of the shuffling.
        num_replicas, rank: the shard to read under data parallelism; by default taken
            from `torch.distributed` when it is initialised, else the whole data.
    """

    # Lightning looks for samplers here; `None` tells it there is no batch sampler.
    batch_sampler = None

    def __init__(
        self,
        tensors: TensorDataset | Sequence[Tensor],
        *,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        found = tuple(tensors.tensors if isinstance(tensors, TensorDataset) else tensors)
        if not found:
            raise ValueError("TensorBatchLoader needs at least one tensor")
        if any(t.shape[0] != found[0].shape[0] for t in found):
            raise ValueError(
                "TensorBatchLoader: all tensors need the same number of samples, got "
                f"{[t.shape[0] for t in found]}"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.tensors = found
        self.batch_size = batch_size
        self.drop_last = drop_last
        self._progress = {"epoch": 0, "batches_done": 0}
        self._resume_from: tuple[int, int] | None = None
        self.sampler = EpochPermutation(
            found[0].shape[0], shuffle=shuffle, seed=seed, num_replicas=num_replicas, rank=rank
        )

    @property
    def shuffle(self) -> bool:
        return self.sampler.shuffle

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch `epoch` for the next pass."""
        self.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        samples = len(self.sampler)
        if self.drop_last:
            return samples // self.batch_size
        return math.ceil(samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        skip = 0
        if self._resume_from is not None:
            epoch, done = self._resume_from
            self._resume_from = None
            if 0 < done < len(self):  # a finished epoch needs no resuming
                self.sampler.set_epoch(epoch)
                skip = done
        self._progress = {"epoch": self.sampler.epoch, "batches_done": skip}
        order = self.sampler.next_epoch_order()
        stop = len(order) // self.batch_size * self.batch_size if self.drop_last else len(order)
        devices = {t.device for t in self.tensors}
        orders = {device: order.to(device) for device in devices}
        # One small gather per tensor per batch. Gathering the whole epoch at once
        # looks cheaper but crosses PyTorch's threading threshold, and a parallel
        # gather on busy cores can cost 100x more than these serial ones.
        for start in range(skip * self.batch_size, stop, self.batch_size):
            self._progress["batches_done"] += 1
            yield tuple(
                t.index_select(0, orders[t.device][start : start + self.batch_size])
                for t in self.tensors
            )

    def state_dict(self) -> dict[str, int]:
        """Where the current pass stands: its epoch and the batches handed out so far.

        Lightning saves this in checkpoints (the loader is `_Stateful`), so a run
        stopped mid-epoch resumes with the very next batch of the same order.
        """
        return dict(self._progress)

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Make the next pass continue the pass that `state_dict` describes."""
        self._resume_from = (int(state_dict["epoch"]), int(state_dict["batches_done"]))

    def __repr__(self) -> str:
        return (
            f"TensorBatchLoader(samples={self.sampler.size}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.sampler.seed})"
        )


STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


class StopSafeDataLoader(DataLoader[Any]):
    """A `DataLoader` whose workers cannot be killed by a stop signal while they start.

    A stop signals the run's whole process group, workers included. A worker ignores it
    once `_worker_init` runs, but torch first installs its own C handler for SIGTERM in
    the worker (one that takes the default action, death, for any sender but the parent),
    and a stop landing in that window killed the worker and failed a run that should have
    been `stopped`. So the workers are forked with SIGTERM and SIGINT blocked (the mask is
    inherited, also across exec); a stop sent meanwhile stays pending until
    `_worker_init` has set them to ignored, which discards it. The main process only
    delays its own handling of a stop by the few milliseconds the forks take.
    """

    def _get_iterator(self) -> Any:
        if self.num_workers == 0:
            return super()._get_iterator()
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            return super()._get_iterator()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class ResumableDataLoader(StopSafeDataLoader):
    """A `DataLoader` over a sampler that can skip (`recipe.data.image_files.EpochSampler`),
    which resumes mid-epoch with the very next batch, as `TensorBatchLoader` does.

    Lightning saves `state_dict()` in checkpoints (the loader is `_Stateful`) and hands it
    back on resume; the next pass then sets the sampler to that epoch and skips the
    batches already trained on. Counted as batches leave the loader, not as the sampler
    hands out indices (workers fetch ahead).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._progress = {"epoch": 0, "batches_done": 0}
        self._resume_from: tuple[int, int] | None = None

    def __iter__(self) -> Any:
        sampler: Any = self.sampler
        if not hasattr(sampler, "skip_next"):
            # Under DDP Lightning wraps our sampler in its DistributedSamplerWrapper, which
            # shards (and reshuffles per epoch) the order ours yields; it cannot skip, so a
            # resume restarts the interrupted epoch's batches, as a plain DataLoader would.
            self._resume_from = None
            self._progress = {"epoch": int(getattr(sampler, "epoch", 0)), "batches_done": 0}
            for batch in super().__iter__():
                self._progress["batches_done"] += 1
                yield batch
            return
        skip = 0
        if self._resume_from is not None:
            epoch, done = self._resume_from
            self._resume_from = None
            if 0 < done < len(self):  # a finished epoch needs no resuming
                sampler.set_epoch(epoch)
                skip = done
        sampler.skip_next(skip * (self.batch_size or 1))
        self._progress = {"epoch": sampler.epoch, "batches_done": skip}
        for batch in super().__iter__():
            self._progress["batches_done"] += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return dict(self._progress)

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self._resume_from = (int(state_dict["epoch"]), int(state_dict["batches_done"]))


def _worker_init(worker_id: int) -> None:
    """Workers ignore SIGTERM/SIGINT and seed NumPy and `random` from torch's per-worker seed.

    A stop signals the run's whole process group; the main process must survive it to save
    a checkpoint, and it ends its workers itself (a worker killed first would make it fail
    with "DataLoader worker exited unexpectedly"). The worker starts with both signals
    blocked (`StopSafeDataLoader`); once they are ignored they can be unblocked, and any
    that arrived meanwhile is dropped. Lightning's own worker seeding is not added when a
    loader has a `worker_init_fn`, so it is done here.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def make_loader(
    dataset: Dataset[Any],
    *,
    batch_size: int,
    shuffle: bool,
    num_workers: int = 0,
    pin_memory: bool = False,
    drop_last: bool = False,
    seed: int = 0,
    persistent_workers: bool | None = None,
) -> Iterable[Any]:
    """The fastest loader for `dataset` with these settings.

    An in-memory `TensorDataset` read in the main process (`num_workers=0`) gets a
    `TensorBatchLoader` (`pin_memory` is then unused: the batches move to the device
    as they are). Anything else gets a `DataLoader` with a seeded generator (the same
    shuffle order for the same seed) and, when it has workers, `persistent_workers`
    on by default so workers are not restarted every epoch; its workers start safe from
    a stop signal (`StopSafeDataLoader`). A dataset with a `make_sampler` method (image
    files: `recipe.data.image_files`) supplies its own seeded sampler, and its loader
    resumes mid-epoch (`ResumableDataLoader`). A dataset's own `collate_fn` (detection's
    lists of images and targets) is the loader's.
    """
    if isinstance(dataset, TensorDataset) and num_workers == 0:
        return TensorBatchLoader(
            dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed
        )
    generator = torch.Generator()
    generator.manual_seed(seed)
    if persistent_workers is None:
        persistent_workers = num_workers > 0
    sampler, loader = None, StopSafeDataLoader
    if callable(getattr(dataset, "make_sampler", None)):
        sampler = dataset.make_sampler(shuffle=shuffle, seed=seed)  # type: ignore[attr-defined]
        shuffle, loader = False, ResumableDataLoader
    return loader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=drop_last,
        generator=generator,
        worker_init_fn=_worker_init if num_workers > 0 else None,
        persistent_workers=persistent_workers and num_workers > 0,
        collate_fn=getattr(dataset, "collate_fn", None),  # detection: lists of images
    )
