"""Predictions you can see: recipe.drawing's pictures, `predict --draw`, and the media/
files training writes at each validation (the run-directory contract) with the same
images in TensorBoard. One tiny image classification run is trained for real and shared
by the tests that need it; the drawings are checked pixel by pixel."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from recipe import drawing
from tests.helpers import make_project, run_recipe

IMAGES_CONFIG = """\
data: {_target_: image_folder, path: examples/digit_images, size: 16, val_fraction: 0.2}
dataloader: {num_workers: 0, batch_size: 64}
model: {_target_: cnn, channels: [8]}
optimizer: {_target_: adamw, lr: 0.01}
trainer: {max_epochs: 3}
media: {images: 3, keep: 2}
"""
NAME = re.compile(r"^(predictions|confusion)-s(\d{7})-(\d+)\.png$")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with `runs/cls`: digit images, a small CNN, 3 epochs, media kept for 2."""
    project = make_project(tmp_path_factory.mktemp("media") / "project")
    (project / "configs" / "images.yaml").write_text(IMAGES_CONFIG)
    result = run_recipe(["train", "configs/images.yaml", "--run-dir", "runs/cls"], project)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return project


def index_lines(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "media/index.jsonl").read_text().splitlines()]


def test_training_writes_media_per_the_contract_and_keeps_the_newest(project: Path) -> None:
    run = project / "runs/cls"
    lines = index_lines(run)
    steps = sorted({line["step"] for line in lines})
    assert len(steps) == 3  # one per validation (3 epochs), none for the sanity check
    for line in lines:
        assert set(line) == {"step", "epoch", "kind", "file", "caption", "time"}
        match = NAME.match(line["file"])
        assert match, line
        assert (match.group(1), int(match.group(2))) == (line["kind"], line["step"])
    by_step = {s: [line for line in lines if line["step"] == s] for s in steps}
    for s, epoch in zip(steps, range(3), strict=True):
        kinds = [(line["kind"], line["file"]) for line in by_step[s]]
        assert kinds == [("predictions", f"predictions-s{s:07d}-{n}.png") for n in range(3)] + [
            ("confusion", f"confusion-s{s:07d}-0.png")
        ]
        assert {line["epoch"] for line in by_step[s]} == {epoch}
    # The same validation images every time, so the user sees them improve.
    names = [[line["caption"].split(":")[0] for line in by_step[s][:3]] for s in steps]
    assert names[0] == names[1] == names[2] and len(set(names[0])) == 3
    assert all(line["caption"].startswith("val ") for line in by_step[steps[0]][:3])
    # keep: 2 -> the first validation's PNGs are gone, its index lines stay.
    on_disk = sorted(p.name for p in (run / "media").iterdir())
    kept = sorted(line["file"] for line in lines if line["step"] in steps[1:])
    assert on_disk == sorted([*kept, "index.jsonl"])
    confusion = np.asarray(Image.open(run / "media" / by_step[steps[-1]][3]["file"]))
    assert confusion.ndim == 3 and confusion.shape[0] > 10 * 28  # 10 classes, a row each


def test_the_tensorboard_event_file_holds_the_images(project: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(project / "runs/cls/tb"), size_guidance={"images": 0})
    events.Reload()
    tags = set(events.Tags()["images"])
    assert {"media/predictions/0", "media/predictions/2", "media/confusion/0"} <= tags
    steps = sorted({line["step"] for line in index_lines(project / "runs/cls")})
    shown = events.Images("media/confusion/0")
    assert [image.step for image in shown] == steps
    png = Image.open(__import__("io").BytesIO(shown[-1].encoded_image_string))
    on_disk = Image.open(project / f"runs/cls/media/confusion-s{steps[-1]:07d}-0.png")
    assert png.size == on_disk.size and np.array_equal(np.asarray(png), np.asarray(on_disk))


def test_predict_draw_writes_each_image_with_its_prediction(project: Path) -> None:
    source = project / "examples/digit_images/3"
    first = sorted(source.iterdir())[0]
    (project / "again").mkdir()
    shutil.copy(first, project / "again" / first.name)  # the same stem twice
    result = run_recipe(
        ["predict", "runs/cls", str(first), f"again/{first.name}", "--draw", "out/drawn"],
        project,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(p.name for p in (project / "out/drawn").iterdir()) == [
        f"{first.stem}.png",
        f"{first.stem}_1.png",
    ]
    picture = np.asarray(Image.open(project / "out/drawn" / f"{first.stem}.png").convert("RGB"))
    original = np.asarray(Image.open(first).convert("RGB"))
    scale = -(-drawing.MIN_SIDE // min(original.shape[:2]))
    height, width = original.shape[0] * scale, original.shape[1] * scale
    enlarged = original.repeat(scale, axis=0).repeat(scale, axis=1)
    assert np.array_equal(picture[:height, :width], enlarged)  # the image itself, untouched
    caption = picture[height:]
    assert (caption == drawing.TEXT).all(axis=-1).sum() > 20  # text was written under it
    assert rows[0]["prediction"] in {str(d) for d in range(10)}


def test_media_is_off_with_images_0_and_draw_refuses_tables(project: Path) -> None:
    quick = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "media.images=0"]
    result = run_recipe(["train", "configs/digits.yaml", *quick, "--run-dir", "runs/t"], project)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert not (project / "runs/t/media").exists()
    drawn = run_recipe(["predict", "runs/t", ",".join(["0"] * 64), "--draw", "d"], project)
    assert drawn.returncode == 2 and drawn.stdout == ""
    assert drawn.stderr == (
        "predict: --draw needs image inputs, and runs/t reads tabular inputs; leave --draw out\n"
    )
    assert not (project / "d").exists()


def test_media_values_below_their_minimum_are_refused_at_their_line() -> None:
    from recipe.config import check_text

    text = "data: {_target_: digits}\nmodel: mlp\nmedia:\n  images: -1\n  keep: 0\n"
    assert [str(p) for p in check_text(text, "c.yaml", (), project_dir="/nonexist")] == [
        "c.yaml:4:11: 'media.images' must be at least 0, got -1",
        "c.yaml:5:9: 'media.keep' must be at least 1, got 0",
    ]


# ---------------------------------------------------------------- drawings, by hand


def test_a_detection_row_draws_its_boxes_in_the_class_colour() -> None:
    image = torch.full((3, 40, 60), 128, dtype=torch.uint8)
    row = {"boxes": [{"box": [10, 5, 30, 25], "label": "circle", "index": 1, "score": 0.93}]}
    picture = np.asarray(drawing.draw_detection(image, row))
    scale = -(-drawing.MIN_SIDE // 40)  # 4: 40 px -> 160
    colour = drawing.class_colour(1)
    # The box's left edge, below its label, is in the class colour; inside stays grey.
    assert tuple(picture[22 * scale, 10 * scale]) == colour
    assert tuple(picture[20 * scale, 20 * scale]) == (128, 128, 128)
    assert tuple(picture[20 * scale, 5 * scale]) == (128, 128, 128)


def test_a_segmentation_overlay_colours_only_the_predicted_region() -> None:
    image = torch.full((3, 32, 32), 100, dtype=torch.uint8)
    mask = torch.zeros(16, 16, dtype=torch.long)  # half the image size: resized, nearest
    mask[4:8, 2:6] = 2
    picture = np.asarray(drawing.draw_segmentation(image, mask, ["bg", "a", "b"], alpha=0.5))
    scale = drawing.MIN_SIDE // 32
    expected = [round(100 * 0.5 + c * 0.5) for c in drawing.class_colour(2)]
    inside = picture[9 * scale : 15 * scale, 5 * scale : 11 * scale].reshape(-1, 3)
    assert np.abs(inside.astype(int) - expected).max() <= 1
    outside = picture[: 32 * scale, : 32 * scale].copy()
    outside[8 * scale : 16 * scale, 4 * scale : 12 * scale] = 100
    assert (outside == 100).all()


def test_classification_and_multilabel_captions_colour_right_and_wrong() -> None:
    image = torch.zeros((3, 8, 8), dtype=torch.uint8)
    row = {"top_k": [{"class": "cat", "index": 0, "probability": 0.9}]}
    right = np.asarray(drawing.draw_classification(image, row, truth="cat"))
    wrong = np.asarray(drawing.draw_classification(image, row, truth="dog"))
    assert (right == drawing.GOOD).all(axis=-1).any() and not (right == drawing.BAD).all(-1).any()
    assert (wrong == drawing.BAD).all(axis=-1).any()
    labels = {"labels": ["a"], "probabilities": {"a": 0.8, "b": 0.1}}
    picture = np.asarray(drawing.draw_multilabel(image, labels, truth=["a", "b"]))
    assert (picture == drawing.BAD).all(axis=-1).any()


def test_draw_into_a_file_and_samples_of_another_shape_are_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recipe.media import MediaWriter
    from recipe.predict import predict

    taken = tmp_path / "taken"
    taken.write_text("")
    assert predict(str(tmp_path / "run"), ["a.png"], draw=str(taken)) == 2
    assert (
        capsys.readouterr().err
        == f"predict: --draw {taken} is a file; name a folder (it is created)\n"
    )
    # A custom builder's samples that are no (image, target) pairs: no pictures, no failure.
    info = {"task": "classification", "num_outputs": 2, "input_shape": [3, 8, 8]}
    writer = MediaWriter(str(tmp_path), info, val_data=[{"image": torch.zeros(3, 8, 8)}] * 5)
    assert writer._predictions(None, None) == [] and writer.images == 0  # type: ignore[arg-type]
    assert capsys.readouterr().out == (
        "media: validation samples are not (image, target) pairs; no prediction images\n"
    )
