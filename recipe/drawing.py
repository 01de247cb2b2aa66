"""Predictions drawn on their images, so a user can see what a model does.

One function per task turns an image and a result row (as `predict` prints it) into an
annotated picture: classification (the top class and its probability, the true label
when known), multi-label (predicted vs true labels), segmentation (the mask laid over the
image, each class in a colour fixed by its index) and detection (boxes with label and
score). `predict --draw DIR` and the training media/ callback (recipe.media) both use
them, and a confusion matrix is drawn here too. torchvision draws boxes and masks;
Pillow writes the text. Small images are enlarged (nearest neighbour, so pixels stay
sharp) to at least MIN_SIDE pixels first, or no caption would be readable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from recipe.io import atomic_write_with

MIN_SIDE = 160  # pixels: enlarge smaller images so the captions fit and read
CAPTION_LINE = 14  # pixels per caption line (Pillow's default bitmap font is ~11 high)
GOOD, BAD, TEXT, STRIP = (40, 170, 60), (210, 50, 50), (20, 20, 20), (245, 245, 245)

# Class colours by index (index 0 -- the background for segmentation -- is left undrawn
# in mask overlays); beyond the table, colours come from a fixed golden-ratio hue walk.
PALETTE = [
    (0, 0, 0), (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128),
    (170, 110, 40), (128, 0, 0), (128, 128, 0), (0, 0, 128), (255, 225, 25),
]  # fmt: skip


def class_colour(index: int) -> tuple[int, int, int]:
    """The colour of class `index`: the same in every drawing of every run."""
    if index < len(PALETTE):
        return PALETTE[index]
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((index * 0.618034) % 1.0, 0.75, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


def unique_png_names(sources: Sequence[str]) -> list[str]:
    """`<stem>.png` per source, a repeated stem getting `_1`, `_2`... (as predictions/)."""
    used: set[str] = set()
    names = []
    for source in sources:
        stem = Path(source).stem
        name, n = f"{stem}.png", 0
        while name in used:
            n += 1
            name = f"{stem}_{n}.png"
        used.add(name)
        names.append(name)
    return names


def save_png(image: Image.Image, path: str) -> None:
    """Write `image` as a PNG under a temporary name and rename it: never half a file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write_with(path, lambda handle: image.save(handle, "PNG"))


def tensor_to_image(x: Tensor, preprocess: dict[str, Any] | None = None) -> Tensor:
    """A model input `(C, H, W)` back to a displayable uint8 RGB image `(3, H, W)`.

    Image files were normalised with `preprocess.image`'s mean/std: undone exactly. Other
    inputs (arrays such as digits as images) are stretched to their own min..max."""
    # NumPy, not torch: a few small images, and torch's thread pool only slows these down.
    array = x.detach().float().cpu().numpy()
    image = (preprocess or {}).get("image") or {}
    if "mean" in image and "std" in image and len(image["mean"]) == array.shape[0]:
        mean = np.asarray(image["mean"], dtype=np.float32).reshape(-1, 1, 1)
        std = np.asarray(image["std"], dtype=np.float32).reshape(-1, 1, 1)
        array = np.clip(array * std + mean, 0, 1)
    else:
        low, high = array.min(), array.max()
        array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    if array.shape[0] == 1:
        array = np.repeat(array, 3, axis=0)
    return torch.from_numpy(np.rint(array[:3] * 255).astype(np.uint8))


def open_image(path: str) -> Tensor:
    """An image file as uint8 RGB `(3, H, W)`."""
    with Image.open(path) as image:
        array = np.asarray(image.convert("RGB"))
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def _enlarge(image: Tensor, scale: int) -> Tensor:
    if scale <= 1:
        return image
    return torch.from_numpy(image.numpy().repeat(scale, axis=-2).repeat(scale, axis=-1))


def _scale_for(image: Tensor) -> int:
    side = min(int(image.shape[1]), int(image.shape[2]))
    return max(1, -(-MIN_SIDE // max(side, 1)))


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def _with_caption(image: Tensor, lines: Sequence[tuple[str, tuple[int, int, int]]]) -> Image.Image:
    """The image with a light strip under it holding one coloured text line per entry."""
    picture = Image.fromarray(image.permute(1, 2, 0).numpy(), "RGB")
    width = max(picture.width, 120)
    canvas = Image.new("RGB", (width, picture.height + CAPTION_LINE * len(lines) + 4), STRIP)
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"  # crisp text in exact colours: small pictures stay readable
    font = _font()
    for i, (text, colour) in enumerate(lines):
        draw.text((3, picture.height + 2 + i * CAPTION_LINE), text, fill=colour, font=font)
    return canvas


def draw_classification(
    image: Tensor, row: dict[str, Any], truth: str | None = None
) -> Image.Image:
    """The top class and its probability under the image; the true class too when known,
    green when the prediction is right and red when it is wrong."""
    top = row["top_k"][0]
    text = f"{top['class']} {top['probability']:.2f}"
    if truth is None:
        return _with_caption(_enlarge(image, _scale_for(image)), [(text, TEXT)])
    colour = GOOD if top["class"] == truth else BAD
    lines = [(f"pred {text}", colour), (f"true {truth}", TEXT)]
    return _with_caption(_enlarge(image, _scale_for(image)), lines)


def draw_multilabel(
    image: Tensor, row: dict[str, Any], truth: Sequence[str] | None = None
) -> Image.Image:
    """Predicted labels (green if true, red if not, when the truth is known) and the true
    labels under the image."""
    predicted = list(row["labels"])
    if truth is None:
        lines = [("pred " + (", ".join(predicted) or "-"), TEXT)]
    else:
        right = set(predicted) == set(truth)
        lines = [
            ("pred " + (", ".join(predicted) or "-"), GOOD if right else BAD),
            ("true " + (", ".join(truth) or "-"), TEXT),
        ]
    return _with_caption(_enlarge(image, _scale_for(image)), lines)


def _overlay(image: Tensor, mask: Tensor, num_classes: int, alpha: float) -> Tensor:
    from torchvision.utils import draw_segmentation_masks

    classes = [c for c in range(1, num_classes) if bool((mask == c).any())]
    if not classes:
        return image
    masks = torch.stack([mask == c for c in classes])
    colours = [class_colour(c) for c in classes]
    result: Tensor = draw_segmentation_masks(image, masks, alpha=alpha, colors=colours)
    return result


def draw_segmentation(
    image: Tensor,
    mask: Tensor,
    class_names: Sequence[str],
    truth: Tensor | None = None,
    alpha: float = 0.55,
) -> Image.Image:
    """The predicted mask (class indices, any size: resized to the image, nearest) laid over
    the image, each class but 0 (background) in its colour; with the true mask, the two
    side by side (prediction left). The caption names the colours of the classes shown."""
    height, width = int(image.shape[1]), int(image.shape[2])

    def fitted(m: Tensor) -> Tensor:
        m = m.long()
        if tuple(m.shape) != (height, width):
            m = torch.nn.functional.interpolate(m[None, None].float(), (height, width))
            m = m[0, 0].long()
        return m

    # Overlaid at the image's own size, then enlarged: the same pixels, far less work.
    shown = _overlay(image, fitted(mask), len(class_names), alpha)
    present = set(fitted(mask).unique().tolist())
    if truth is not None:
        shown = torch.cat([shown, _overlay(image, fitted(truth), len(class_names), alpha)], dim=2)
        present |= set(fitted(truth).unique().tolist())
    shown = _enlarge(shown, _scale_for(image))
    names = [(i, class_names[i]) for i in sorted(present) if 0 < i < len(class_names)]
    caption = "  ".join(name for _, name in names) or "(background only)"
    lines = [(("pred | true  " if truth is not None else "") + caption, TEXT)]
    picture = _with_caption(shown, lines)
    _colour_key(picture, names, shown.shape[1], ("pred | true  " if truth is not None else ""))
    return picture


def _colour_key(picture: Image.Image, names: list[tuple[int, str]], top: int, prefix: str) -> None:
    """Underline each class name in the caption with its overlay colour."""
    draw = ImageDraw.Draw(picture)
    font = _font()
    x = 3 + draw.textlength(prefix, font=font)
    for index, name in names:
        length = draw.textlength(name, font=font)
        y = top + CAPTION_LINE + 1
        draw.rectangle([x, y - 3, x + length, y], fill=class_colour(index))
        x += length + draw.textlength("  ", font=font)


def draw_detection(image: Tensor, row: dict[str, Any]) -> Image.Image:
    """Each box of a detection row (`{"boxes": [{"box": [x1, y1, x2, y2], "label",
    "index", "score"}]}`, in the image's pixels) with its label and score, coloured by
    class index."""
    from torchvision.utils import draw_bounding_boxes

    scale = _scale_for(image)
    big = _enlarge(image, scale)
    found = row.get("boxes") or []
    if found:
        boxes = torch.tensor([b["box"] for b in found], dtype=torch.float32) * scale
        labels = [f"{b['label']} {b['score']:.2f}" for b in found]
        colours = [class_colour(int(b.get("index", 1))) for b in found]
        big = draw_bounding_boxes(big, boxes, labels=labels, colors=colours, width=2)
    count = f"{len(found)} box" + ("" if len(found) == 1 else "es")
    return _with_caption(big, [(count, TEXT)])


def draw_row(
    task: str,
    image: Tensor,
    row: dict[str, Any],
    class_names: Sequence[str] | None = None,
    truth: Any = None,
) -> Image.Image:
    """The drawing for one predict row of `task` (see the module docstring)."""
    if task == "classification":
        return draw_classification(image, row, truth)
    if task == "multilabel":
        return draw_multilabel(image, row, truth)
    if task == "segmentation":
        mask = row.get("mask_tensor")
        if mask is None:
            with Image.open(row["mask"]) as file:
                mask = torch.from_numpy(np.asarray(file).copy())
        return draw_segmentation(image, mask, list(class_names or []), truth)
    if task == "detection":
        return draw_detection(image, row)
    value = row.get("prediction")  # regression, or a custom postprocess: its value, as text
    text = ", ".join(f"{v:.4g}" for v in value) if isinstance(value, list) else f"{value}"
    if isinstance(value, float):
        text = f"{value:.4g}"
    return _with_caption(_enlarge(image, _scale_for(image)), [(text[:60], TEXT)])


def draw_confusion(matrix: Tensor, class_names: Sequence[str], title: str = "") -> Image.Image:
    """A confusion matrix (rows: true class, columns: predicted) as a table of counts with
    the class names, each cell shaded by its share of its row (the diagonal in green, the
    rest in red), so the mistakes stand out."""
    font = _font()
    counts = matrix.long().cpu()
    n = int(counts.shape[0])
    names = list(class_names) or [str(i) for i in range(n)]
    # Rows: the class index (the column headers) and its name, when the name says more.
    labels = [str(names[i])[:14] for i in range(n)]
    labels = [label if label == str(i) else f"{i} {label}" for i, label in enumerate(labels)]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = int(max(probe.textlength(s, font=font) for s in labels)) + 8
    cell = max(28, int(probe.textlength(str(int(counts.max())), font=font)) + 8)
    header = 34  # the title, then the column headers (class indices, named in the rows)
    title = title or "true (rows) x predicted (columns)"
    width = max(label_w + n * cell, int(probe.textlength(title, font=font))) + 6
    height = header + n * cell + 4
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"  # crisp text in exact colours: small pictures stay readable
    draw.text((3, 2), title, fill=TEXT, font=font)
    totals = counts.sum(dim=1).clamp(min=1)
    for j in range(n):  # column headers: the class index, its name listed in the rows
        draw.text((label_w + j * cell + 4, header - 14), str(j), fill=TEXT, font=font)
    for i in range(n):
        y = header + i * cell
        draw.text((3, y + cell // 2 - 6), labels[i], fill=TEXT, font=font)
        for j in range(n):
            x = label_w + j * cell
            share = float(counts[i, j]) / float(totals[i])
            base = GOOD if i == j else BAD
            fill = tuple(int(255 - share * (255 - c)) for c in base)
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=fill, outline=(200, 200, 200))
            text = str(int(counts[i, j]))
            ink = "white" if share > 0.5 else TEXT
            draw.text((x + 4, y + cell // 2 - 6), text, fill=ink, font=font)
    return canvas
