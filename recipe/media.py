"""media/: what the model predicts, drawn at each validation, so a user sees it improve.

`MediaWriter` (a Lightning callback, added by `train` unless `media.images` is 0) writes at
every `media.every_n_val`-th validation:

- `predictions`: for image inputs, the same few validation images each time (indices
  fixed at the start, spread over the validation set) with the prediction drawn
  (recipe.drawing: top class vs true class, labels, mask overlay). The model runs on those
  few images only, never on the whole set a second time.
- `confusion` (classification, images or tables alike): the validation confusion matrix,
  accumulated from the outputs `validation_step` returns (no extra forward pass).

The files follow the run-directory contract (docs/run-directory.md, "media/"):
`media/<kind>-s<step:07d>-<n>.png`, each written under a temporary name and renamed, THEN
one line appended to `media/index.jsonl`; only the newest `media.keep` validations' PNGs
are kept. The same images go to TensorBoard's image plugin (tag `media/<kind>/<n>`).
Rank 0 writes; the confusion matrix is summed over ranks first.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import TensorBoardLogger
from torch import Tensor

MEDIA_DIR = "media"
INDEX_FILE = "index.jsonl"
KINDS = ("predictions", "confusion")
_STEP = re.compile(r"^(?:predictions|confusion)-s(\d{7})-\d+\.png$")
IMAGE_TASKS = ("classification", "multilabel", "segmentation", "regression", "detection")


def media_file(kind: str, step: int, n: int) -> str:
    """The contract's name of the `n`-th `kind` image of the validation at `step`."""
    return f"{kind}-s{step:07d}-{n}.png"


def fixed_indices(length: int, count: int) -> list[int]:
    """`count` indices spread evenly over `range(length)`: the same at every validation."""
    count = min(count, length)
    return sorted({(i * length) // count for i in range(count)}) if count else []


def _is_image_pair(sample: Any) -> bool:
    return (
        isinstance(sample, tuple | list)
        and len(sample) == 2
        and isinstance(sample[0], Tensor)
        and sample[0].dim() == 3
    )


class MediaWriter(pl.Callback):
    """Draws validation predictions (and a confusion matrix) into RUN_DIR/media/."""

    def __init__(
        self,
        run_dir: str,
        data_info: dict[str, Any],
        images: int = 4,
        every_n_val: int = 1,
        keep: int = 10,
        threshold: float = 0.5,
        val_data: Any = None,
    ) -> None:
        self.dir = os.path.join(run_dir, MEDIA_DIR)
        self.task = str(data_info["task"])
        self.preprocess: dict[str, Any] = dict(data_info.get("preprocess") or {})
        self.class_names: list[str] = list(data_info.get("class_names") or [])
        self.num_outputs = int(data_info["num_outputs"])
        self.is_image = len(data_info["input_shape"]) == 3
        self.images = images
        self.every_n_val = every_n_val
        self.keep = keep
        self.threshold = threshold
        self.val_data = val_data  # the bundle's val dataset (in-memory loaders have none)
        self.validations = 0
        self.active = False
        self.confusion: Any = None
        self.indices: list[int] | None = None
        self.timings_ms: list[float] = []  # per validation written: the time spent here

    # ------------------------------------------------------------------ hooks
    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.active = not trainer.sanity_checking and self.validations % self.every_n_val == 0
        if trainer.sanity_checking:
            return
        self.validations += 1
        if self.active and self.task == "classification":
            from torchmetrics.classification import MulticlassConfusionMatrix

            self.confusion = MulticlassConfusionMatrix(self.num_outputs).to(pl_module.device)

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self.active and self.confusion is not None and isinstance(outputs, Tensor):
            self.confusion.update(outputs.detach().float(), batch[1])

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.active:
            return
        started = time.perf_counter()
        step, epoch = int(trainer.global_step), int(trainer.current_epoch)
        matrix = None
        if self.confusion is not None:
            matrix = self.confusion.compute().cpu()  # on every rank: it syncs them
            self.confusion = None
        if not trainer.is_global_zero:
            return
        os.makedirs(self.dir, exist_ok=True)
        written: list[tuple[str, Any, str]] = []  # (kind, picture, caption)
        if self.is_image and self.task in IMAGE_TASKS:
            written.extend(self._predictions(trainer, pl_module))
        if matrix is not None:
            from recipe.drawing import draw_confusion

            accuracy = float(matrix.diag().sum()) / max(1.0, float(matrix.sum()))
            caption = f"confusion matrix, epoch {epoch}: accuracy {accuracy:.3f}"
            written.append(
                ("confusion", draw_confusion(matrix, self.class_names, caption), caption)
            )
        counts = dict.fromkeys(KINDS, 0)
        for kind, picture, caption in written:
            self._write(trainer, kind, step, epoch, counts[kind], picture, caption)
            counts[kind] += 1
        self._prune()
        self.timings_ms.append((time.perf_counter() - started) * 1000)

    # ------------------------------------------------------------------ drawing
    def _predictions(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> list[tuple[str, Any, str]]:
        from recipe.drawing import draw_row, tensor_to_image

        dataset = self.val_data
        if dataset is None:
            dataset = getattr(trainer.val_dataloaders, "dataset", None)
        if dataset is None or self.images <= 0:
            return []
        if self.indices is None:
            self.indices = fixed_indices(len(dataset), self.images)
        samples = [dataset[i] for i in self.indices]
        if not all(_is_image_pair(sample) for sample in samples):
            # A custom data builder's own sample format: say so once, never fail the run.
            print("media: validation samples are not (image, target) pairs; no prediction images")
            self.images = 0
            return []
        precision = trainer.precision_plugin  # as validation runs: autocast, or a true half
        outputs: Any
        if self.task == "detection":  # a list of images, each at its own size, in eval mode
            images = [s[0].to(pl_module.device) for s in samples]
            with torch.no_grad(), precision.val_step_context():
                outputs = [{k: v.cpu() for k, v in o.items()} for o in pl_module(images)]
        else:
            x = torch.stack([s[0] for s in samples]).to(pl_module.device)
            with torch.no_grad(), precision.val_step_context():
                outputs = pl_module(precision.convert_input(x)).float().cpu()
        paths = getattr(dataset, "paths", None)
        pictures = []
        for row, (i, (image, target)) in zip(
            self._rows(outputs), zip(self.indices, samples, strict=True), strict=True
        ):
            truth = self._truth(target)
            shown = tensor_to_image(image, self.preprocess)
            picture = draw_row(self.task, shown, row, self.class_names, truth)
            name = Path(paths[i]).name if paths is not None else f"#{i}"
            pictures.append(("predictions", picture, f"val {name}: {self._describe(row, truth)}"))
        return pictures

    def _rows(self, outputs: Any) -> list[dict[str, Any]]:
        from recipe import postprocess

        if self.task == "detection":  # the boxes predict would print (its threshold, top 10)
            return postprocess.detection_boxes(outputs, self.class_names, 10, self.threshold)
        if self.task == "classification":
            return postprocess.topk_classes(outputs, self.class_names, top_k=1)
        if self.task == "multilabel":
            return postprocess.multilabel_labels(outputs, self.class_names, self.threshold)
        if self.task == "segmentation":
            return [{"mask_tensor": mask} for mask in outputs.argmax(dim=1)]
        from recipe.data import restore_targets

        return postprocess.regression_values(restore_targets(self.preprocess, outputs))

    def _truth(self, target: Any) -> Any:
        if self.task == "classification" and self.class_names:
            return self.class_names[int(target)]
        if self.task == "multilabel":
            return [
                n
                for n, on in zip(self.class_names, torch.as_tensor(target).tolist(), strict=True)
                if on
            ]
        if self.task == "segmentation":
            return torch.as_tensor(target)
        if self.task == "detection":  # the true boxes' class names (crowd boxes left out)
            crowd = target.get("iscrowd", torch.zeros(len(target["labels"])))
            return [
                self.class_names[int(label)] if int(label) < len(self.class_names) else str(label)
                for label, is_crowd in zip(target["labels"].tolist(), crowd.tolist(), strict=True)
                if not is_crowd
            ]
        return None

    def _describe(self, row: dict[str, Any], truth: Any) -> str:
        if self.task == "classification":
            top = row["top_k"][0]
            return f"pred {top['class']} {top['probability']:.2f}, true {truth}"
        if self.task == "multilabel":
            return f"pred {', '.join(row['labels']) or '-'}; true {', '.join(truth) or '-'}"
        if self.task == "segmentation":
            mask, target = row["mask_tensor"], truth
            labelled = target < self.num_outputs
            agree = (
                float((mask[labelled] == target[labelled]).float().mean()) if labelled.any() else 0
            )
            return f"mask (left) vs truth (right): pixel accuracy {agree:.3f}"
        if self.task == "detection":
            found = ", ".join(f"{b['label']} {b['score']:.2f}" for b in row["boxes"]) or "-"
            return f"pred {found}; true {', '.join(sorted(truth)) or '-'}"
        return f"pred {row.get('prediction')}"

    # ------------------------------------------------------------------ files
    def _write(
        self,
        trainer: pl.Trainer,
        kind: str,
        step: int,
        epoch: int,
        n: int,
        picture: Any,
        caption: str,
    ) -> None:
        import numpy as np

        from recipe.drawing import save_png

        name = media_file(kind, step, n)
        save_png(picture, os.path.join(self.dir, name))  # temp name + rename, then the line
        record = {
            "step": step,
            "epoch": epoch,
            "kind": kind,
            "file": name,
            "caption": caption,
            "time": time.time(),
        }
        with open(os.path.join(self.dir, INDEX_FILE), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")  # one write(): readers see whole lines
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                array = np.asarray(picture.convert("RGB"))
                tag = f"media/{kind}/{n}"
                logger.experiment.add_image(tag, array, global_step=step, dataformats="HWC")

    def _prune(self) -> None:
        """Delete the PNGs of all but the newest `keep` validations (index lines stay)."""
        steps: dict[int, list[str]] = {}
        for entry in os.scandir(self.dir):
            match = _STEP.match(entry.name)
            if match:
                steps.setdefault(int(match.group(1)), []).append(entry.path)
        for old in sorted(steps)[: -self.keep]:
            for path in steps[old]:
                with contextlib.suppress(FileNotFoundError):  # a reader may have raced us
                    os.remove(path)
