"""The recipe's in-memory batch path against the DataLoader most users write.

    python bench/loaders.py

One epoch over digits' training split at batch size 64, sliced from tensors by
`TensorBatchLoader` (what `make_loader` picks for in-memory data without workers) beside a
`DataLoader` over the same `TensorDataset`, which fetches and collates sample by sample.
Best of several epochs each, after one warm-up epoch; both yield the same batches.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from torch.utils.data import DataLoader

from recipe import data


def best_seconds_per_epoch(loader: Iterable[Any], epochs: int = 8) -> float:
    timings = []
    for _ in range(epochs + 1):
        start = time.perf_counter()
        for _batch in loader:
            pass
        timings.append(time.perf_counter() - start)
    return min(timings[1:])  # the first epoch warms up


def main() -> None:
    dataset = data.digits().train
    fast = best_seconds_per_epoch(data.make_loader(dataset, batch_size=64, shuffle=True))
    naive = best_seconds_per_epoch(DataLoader(dataset, batch_size=64, shuffle=True))
    print(f"{'loader':<34} {'ms/epoch':>9}")
    print(f"{'TensorBatchLoader (recipe)':<34} {fast * 1e3:>9.2f}")
    print(f"{'DataLoader over TensorDataset':<34} {naive * 1e3:>9.2f}")
    print(f"recipe/DataLoader: {fast / naive:.3f} ({naive / fast:.0f}x faster)")


if __name__ == "__main__":
    main()
