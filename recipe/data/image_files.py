"""Images read lazily from disk: a folder of class subfolders, or a CSV / JSONL manifest.

Only the file paths and labels are held in memory (one NumPy block of strings, so forked
DataLoader workers copy nothing on touch); each image is decoded with Pillow, converted
to RGB (or L), resized, augmented and normalised when a batch asks for it, in the
DataLoader's workers (`dataloader.num_workers`). Memory does not grow with the number of
images.

Preprocessing follows the model: a model that names one (`recipe.vision.preprocessing`,
e.g. a pretrained timm or torchvision network) sets the size, interpolation and mean /
std; otherwise the data's `size` does, with the per-channel mean / std of a sample of up
to `STATS_SAMPLE` training images (`normalize: false`: no normalisation, values in
[0, 1]). What was used goes to predict.json (`preprocess.image`), and predict applies
exactly that eval transform (`recipe.vision.transforms.eval_transform`).

Augmentation is seeded per sample: image `i` of epoch `e` is augmented from the seed
(seed, e, i), whichever worker reads it and after a resume alike (`EpochSampler` hands
the epoch to the workers with each index).

Unreadable files: files whose header Pillow cannot read (not an image, empty, truncated
before the header) are skipped when the data is built, with one warning line naming
them; a file that passes that check but fails to decode in training stops the run with
an error naming it. Files with other extensions (.txt, .DS_Store) are ignored.
"""

from __future__ import annotations

import csv as csv_module
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from recipe.data import tables
from recipe.data.errors import DataError
from recipe.data.file_datasets import IMAGE_EXTENSIONS
from recipe.data.loaders import EpochPermutation

STATS_SAMPLE = 200  # training images read to compute mean / std when no model sets them
_WARN_NAMES = 5  # unreadable files named in the warning line; the rest are counted


def open_image(path: str | Path, grayscale: bool) -> Any:
    """A file as a loaded PIL image in mode L or RGB (palette, RGBA, 16-bit... converted)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            source = image.convert("RGBA") if image.mode == "P" else image
            return source.convert("L" if grayscale else "RGB")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read this image ({error}); remove or replace it") from None


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The seed sample `index` of epoch `epoch` is augmented with."""
    return (seed * 1_000_003 + epoch * 7_919 + index) % (2**63)


class ImageFiles(Dataset[tuple[torch.Tensor, int]]):
    """Map-style dataset over image files: `dataset[(epoch, i)]` -> (tensor, label).

    A plain index `i` counts as epoch 0. The transform runs under its own seed
    (`sample_seed`), inside `torch.random.fork_rng`, so it leaves the global random state
    of the process alone.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        labels: Sequence[int] | np.ndarray,
        transform: Callable[[Any], torch.Tensor],
        *,
        grayscale: bool = False,
        seed: int = 0,
    ) -> None:
        self.paths = np.array([str(p) for p in paths])
        self.labels = np.asarray(labels, dtype=np.int64)
        self.transform = transform
        self.grayscale = grayscale
        self.seed = seed

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        image = open_image(str(self.paths[index]), self.grayscale)
        with torch.random.fork_rng(devices=[]):
            # The CPU generator alone: torch.manual_seed also queues a seed for every CUDA
            # device with a captured stack trace, 0.33 ms a sample (40% of decoding a
            # 64 px PNG); the transforms draw on the CPU generator only.
            torch.default_generator.manual_seed(sample_seed(self.seed, epoch, index))
            x = self.transform(image)
        return x, int(self.labels[index])

    def make_sampler(self, *, shuffle: bool, seed: int) -> EpochSampler:
        """The sampler `make_loader` gives a DataLoader over this dataset."""
        return EpochSampler(len(self), shuffle=shuffle, seed=seed)


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields `(epoch, index)`: the epoch's seeded order, with the epoch for the workers.

    Lightning calls `set_epoch` on a loader's sampler before each epoch (also after a
    resume), so the order and each sample's augmentation depend on the true epoch.
    """

    def __init__(self, size: int, *, shuffle: bool, seed: int) -> None:
        self.order = EpochPermutation(size, shuffle=shuffle, seed=seed, num_replicas=1, rank=0)
        self._skip = 0

    @property
    def epoch(self) -> int:
        """The epoch the next pass yields."""
        return self.order.epoch

    def set_epoch(self, epoch: int) -> None:
        self.order.set_epoch(epoch)

    def skip_next(self, count: int) -> None:
        """Leave out the first `count` samples of the next pass (a resumed epoch)."""
        self._skip = count

    def __len__(self) -> int:
        return self.order.size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.order.epoch
        skip, self._skip = self._skip, 0
        for index in self.order.next_epoch_order()[skip:].tolist():
            yield epoch, index


def scan_folder(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """Image files under each class subfolder of `root`, their class indices, class names.

    Hidden entries and files without an image extension are ignored; a class folder with
    no images is an error (a class the model could never learn).
    """
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(
            f"{root}: no class subfolders; put the images of each class in their own "
            f"subfolder, e.g. {root / 'cat' / '001.png'}"
        )
    files: list[Path] = []
    labels: list[int] = []
    for index, class_dir in enumerate(class_dirs):
        found = sorted(
            p
            for p in class_dir.rglob("*")
            if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
        )
        if not found:
            raise DataError(
                f"{class_dir}: class folder {class_dir.name!r} has no images "
                f"({', '.join(IMAGE_EXTENSIONS)}); add images or remove the folder"
            )
        files.extend(found)
        labels.extend([index] * len(found))
    return files, labels, [d.name for d in class_dirs]


def read_manifest(path: Path, path_key: str, label_key: str) -> tuple[list[Path], list[str]]:
    """Image paths (relative to the manifest's folder) and labels from a CSV with a header
    row, or a JSON-lines file (`.jsonl`, one object per line)."""
    rows: list[tuple[str, dict[str, Any]]] = []  # (where, row)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{path}:{number}: not JSON ({error.msg})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{number}: expected an object, got {line.strip()}")
                rows.append((f"{path}:{number}", row))
    else:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            dialect = tables.csv_dialect(handle.read(8192))
            handle.seek(0)
            reader = csv_module.DictReader(handle, dialect=dialect)
            reader.fieldnames = [c.strip() for c in reader.fieldnames or []]
            for key in (path_key, label_key):
                if key not in reader.fieldnames:
                    raise DataError(
                        f"{path}: no column {key!r} (columns: {reader.fieldnames}); set "
                        f"{'path_column' if key == path_key else 'label_column'}"
                    )
            rows.extend((f"{path}:{reader.line_num}", row) for row in reader)
    if not rows:
        raise DataError(f"{path}: the manifest lists no images")
    files: list[Path] = []
    labels: list[str] = []
    for where, row in rows:
        for key in (path_key, label_key):
            if row.get(key) in (None, ""):
                raise DataError(f"{where}: {key!r} is missing or empty")
        file = path.parent / str(row[path_key]).strip()
        if not file.is_file():
            raise DataError(
                f"{where}: {file}: no such file (paths are relative to the manifest's folder)"
            )
        files.append(file)
        labels.append(str(row[label_key]).strip())
    return files, labels


def drop_unreadable(
    files: list[Path], labels: list[int], source: str
) -> tuple[list[Path], list[int]]:
    """Files whose header Pillow reads, with their labels; one warning line for the rest."""
    from PIL import Image, UnidentifiedImageError

    kept_files, kept_labels, bad = [], [], []
    for file, label in zip(files, labels, strict=True):
        try:
            with Image.open(file):  # reads the header only: cheap at any size
                pass
        except (UnidentifiedImageError, OSError, ValueError):
            bad.append(file)
            continue
        kept_files.append(file)
        kept_labels.append(label)
    if bad:
        named = ", ".join(str(f) for f in bad[:_WARN_NAMES])
        more = f" and {len(bad) - _WARN_NAMES} more" if len(bad) > _WARN_NAMES else ""
        print(
            f"warning: {source}: skipped {len(bad)} unreadable image file(s): {named}{more}; "
            "remove or replace them",
            file=sys.stderr,
            flush=True,
        )
    if not kept_files:
        raise DataError(f"{source}: none of the {len(files)} image files could be read")
    return kept_files, kept_labels
