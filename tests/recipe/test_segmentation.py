"""Semantic segmentation as a task: image + mask folders, masks moved with their images,
cross-entropy (+ Dice), mean IoU / Dice, the U-Net, and predict's mask PNGs; trained for
real on the generated shapes set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from recipe.data import DataError
from recipe.data.segmentation import segmentation_folder
from recipe.drawing import class_colour
from recipe.losses import DiceCrossEntropy
from recipe.tasks import task_metrics
from recipe.vision.segmentation import UNet
from scripts.make_shapes_dataset import write_dataset
from tests.helpers import read_metrics, recipe_env, run_recipe

CLASSES = ["background", "circle", "square", "triangle"]
QUICK = ["data.size=32", "trainer.max_epochs=5", "dataloader.num_workers=0"]


def test_metrics_match_hand_computed_values_and_leave_ignored_pixels_out() -> None:
    metrics = task_metrics("segmentation", 3, ignore_index=255)
    target = torch.tensor([[[0, 0, 1], [1, 2, 255]]])  # one 2x3 image, one pixel ignored
    predicted = torch.tensor([[[0, 1, 1], [1, 2, 0]]])
    logits = torch.nn.functional.one_hot(predicted, 3).permute(0, 3, 1, 2).float()
    values = {k: float(v) for k, v in metrics(logits, target).items()}
    # Class 0: predicted {00, 12 (ignored)}, true {00, 01} -> tp 1, fp 0, fn 1: IoU 1/2,
    # Dice 2/3. Class 1: predicted {01, 02, 10}, true {02, 10} -> IoU 2/3, Dice 4/5.
    # Class 2: exact -> 1 and 1.
    assert values["miou"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert values["dice"] == pytest.approx((2 / 3 + 4 / 5 + 1) / 3)


def test_dice_ce_is_cross_entropy_plus_one_minus_dice_and_ignores_pixels() -> None:
    logits = torch.tensor([[[[4.0, -4.0]], [[-4.0, 4.0]]]])  # (1, 2, 1, 2): pixel 0 -> 0, 1 -> 1
    perfect = torch.tensor([[[0, 1]]])
    loss = DiceCrossEntropy(smooth=0.0)
    ce = torch.nn.functional.cross_entropy(logits, perfect)
    p = torch.sigmoid(torch.tensor(8.0))  # softmax of (4, -4)
    assert float(loss(logits, perfect)) == pytest.approx(float(ce + (1 - p)), abs=1e-6)
    ignored = torch.tensor([[[0, 255]]])  # only pixel 0 counts: class 1 is absent
    expected = torch.nn.functional.cross_entropy(logits, ignored, ignore_index=255)
    dice_1 = 0.0  # class 1: no true pixel, p(1) at pixel 0 is 1 - p -> 0 / (1 - p)
    dice = (2 * p / (p + 1) + dice_1) / 2
    assert float(loss(logits, ignored)) == pytest.approx(float(expected + 1 - dice), abs=1e-6)


@pytest.fixture
def shapes(tmp_path: Path) -> Path:
    write_dataset(tmp_path / "shapes", images=10, size=24, seed=2)
    return tmp_path / "shapes"


def test_a_missing_mask_and_a_mask_of_the_wrong_size_name_both_files(shapes: Path) -> None:
    images, masks = shapes / "images", shapes / "masks"
    (masks / "shapes_0003.png").unlink()
    with pytest.raises(DataError) as error:
        segmentation_folder(str(images), str(masks))
    assert str(error.value) == (
        f"{images / 'shapes_0003.png'}: no mask for it in {masks} "
        f"(expected {masks / 'shapes_0003.png'})"
    )
    Image.new("L", (20, 24)).save(masks / "shapes_0003.png")
    with pytest.raises(DataError) as error:
        segmentation_folder(str(images), str(masks))
    assert str(error.value) == (
        f"{masks / 'shapes_0003.png'}: mask is 20x24 but its image "
        f"{images / 'shapes_0003.png'} is 24x24; masks must match their images pixel for pixel"
    )
    Image.new("RGB", (24, 24)).save(masks / "shapes_0003.png")
    with pytest.raises(DataError, match="this file has 3 channels"):
        segmentation_folder(str(images), str(masks))


def test_a_mask_value_outside_the_classes_names_the_mask(shapes: Path) -> None:
    bad = np.zeros((24, 24), dtype=np.uint8)
    bad[3, 4] = 7
    Image.fromarray(bad, "L").save(shapes / "masks/shapes_0000.png")
    bundle = segmentation_folder(
        str(shapes / "images"), str(shapes / "masks"), classes=CLASSES, val_fraction=0.5
    )
    dataset = bundle.train if "shapes_0000" in bundle.train.paths[0] else bundle.val
    with pytest.raises(DataError) as error:
        dataset[0]
    assert str(error.value) == (
        f"{shapes / 'masks/shapes_0000.png'}: mask value 7 is not a class index (0..3) "
        "nor ignore_index 255"
    )


def test_augmentation_moves_the_mask_with_the_image(shapes: Path) -> None:
    options = {"classes": CLASSES, "size": 24, "val_fraction": 0.5, "seed": 0}
    plain = segmentation_folder(str(shapes / "images"), str(shapes / "masks"), **options)
    flipped = segmentation_folder(
        str(shapes / "images"),
        str(shapes / "masks"),
        augment=[{"RandomHorizontalFlip": {"p": 1.0}}, {"RandomRotation": {"degrees": 30}}],
        **options,
    )
    for i in range(len(plain.train)):
        x, y = flipped.train[(0, i)]
        assert torch.equal(flipped.train[(0, i)][1], y)  # seeded: the same sample twice
        assert y.dtype == torch.int64 and y.shape == (24, 24)
        assert set(y.unique().tolist()) <= set(plain.train[i][1].unique().tolist())
    # Flip alone: exactly the mirror image, mask and pixels alike.
    mirror = segmentation_folder(
        str(shapes / "images"),
        str(shapes / "masks"),
        augment=[{"RandomHorizontalFlip": {"p": 1.0}}],
        **options,
    )
    for i in range(len(plain.train)):
        x, y = mirror.train[(1, i)]
        assert torch.equal(y, plain.train[i][1].flip(-1))
        assert torch.allclose(x, plain.train[i][0].flip(-1))


def test_the_unet_keeps_any_input_size() -> None:
    model = UNet((3, 30, 22), 4, widths=[8, 16, 32])
    assert model(torch.zeros(2, 3, 30, 22)).shape == (2, 4, 30, 22)


@pytest.mark.slow
def test_the_example_trains_a_unet_and_predicts_mask_pngs(project: Path) -> None:
    make = subprocess.run(
        [sys.executable, str(Path(__file__).parents[2] / "scripts/make_shapes_dataset.py"),
         "data/shapes_tasks", "--images", "200", "--size", "32", "--class-colours"],
        cwd=project, env=recipe_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert make.returncode == 0, make.stderr
    train = run_recipe(
        ["train", "configs/segment_shapes.yaml", *QUICK, "--run-dir", "runs/seg"], project
    )
    assert train.returncode == 0, train.stdout + train.stderr[-3000:]
    records = read_metrics(project / "runs/seg")
    start = next(r for r in records if r.get("event") == "start")
    assert start["task"] == "segmentation" and start["monitor"] == "val/miou"
    last = [r["metrics"] for r in records if "val/miou" in r.get("metrics", {})][-1]
    # Measured: mIoU 0.68, Dice 0.78 after 5 epochs (all background would score mIoU ~0.23).
    assert last["val/miou"] >= 0.55 and last["val/dice"] >= 0.65, last

    images = [f"data/shapes_tasks/images/shapes_{i:04d}.png" for i in range(3)]
    predict = run_recipe(["predict", "runs/seg", *images, "--draw", "drawn"], project)
    assert predict.returncode == 0, predict.stderr
    rows = [json.loads(line) for line in predict.stdout.splitlines()]
    assert len(rows) == 3
    for row, image in zip(rows, images, strict=True):
        assert row["input"] == image and row["size"] == [32, 32]
        path = Path(row["mask"])
        assert path == project / "runs/seg/predictions" / Path(image).name
        mask = np.array(Image.open(path))
        assert mask.shape == (32, 32) and mask.dtype == np.uint8
        assert row["pixels"] == {c: int((mask == i).sum()) for i, c in enumerate(CLASSES)}
        truth = np.array(Image.open(project / "data/shapes_tasks/masks" / Path(image).name))
        assert (mask == truth).mean() >= 0.8  # pixel accuracy on these training images
        # --draw: the image enlarged 5x (32 -> 160 px), the predicted mask over it in each
        # class's colour (alpha 0.55), background pixels untouched.
        drawn = np.asarray(Image.open(project / "drawn" / Path(image).name))[:160, :160]
        pixels = np.asarray(Image.open(project / image).convert("RGB")).astype(float)
        big, big_mask = (a.repeat(5, axis=0).repeat(5, axis=1) for a in (pixels, mask))
        assert np.array_equal(drawn[big_mask == 0], big[big_mask == 0])
        for index in set(np.unique(mask).tolist()) - {0}:
            expected = 0.45 * big[big_mask == index] + 0.55 * np.array(class_colour(index))
            assert np.abs(drawn[big_mask == index] - expected).max() <= 1.0
    # media/: the same 4 validation images, mask beside truth, at each of the 5 validations.
    lines = [json.loads(s) for s in (project / "runs/seg/media/index.jsonl").open()]
    assert [line["kind"] for line in lines] == ["predictions"] * 20
    assert len({line["caption"].split(":")[0] for line in lines}) == 4
    first = Image.open(project / "runs/seg/media" / lines[-1]["file"])
    assert first.width == 2 * 160 and "pixel accuracy" in lines[-1]["caption"]


@pytest.mark.parametrize(
    "name", ["lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large", "fcn_resnet50"]
)
def test_torchvision_networks_take_the_classes_and_no_weights_unless_named(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from recipe.registry import instantiate

    # An empty torch hub: a download would be tried (and fail: no network) if weights or
    # weights_backbone were left to torchvision's defaults.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    model = instantiate(name, "model", input_shape=(3, 32, 32), num_outputs=4)
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 4, 32, 32)
    assert not (tmp_path / "torch").exists()


@pytest.mark.slow
def test_a_segmentation_run_stops_on_sigterm_and_resumes_to_completion(project: Path) -> None:
    import os
    import signal

    from recipe import EXIT_STOPPED
    from tests.helpers import start_recipe, wait_for

    write_dataset(project / "data/shapes_tasks", images=80, size=32, seed=5, class_colours=True)
    args = ["data.size=32", "dataloader.num_workers=0", "--run-dir", "r"]  # 4 steps an epoch
    process = start_recipe(
        ["train", "configs/segment_shapes.yaml", "trainer.max_epochs=500", *args], project
    )
    run_dir = project / "r"
    try:
        wait_for(
            lambda: (
                (run_dir / "metrics.jsonl").exists()
                and any("val/miou" in r.get("metrics", {}) for r in read_metrics(run_dir))
            ),
            what="the first validation",
        )
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == EXIT_STOPPED, output
    records = read_metrics(run_dir)
    assert records[-1]["event"] == "end" and records[-1]["status"] == "stopped"
    stopped_at = records[-1]["step"]
    assert (run_dir / "checkpoints/best.ckpt").is_file()  # by val/miou

    resumed = run_recipe(["train", "--resume", "r", "trainer.max_epochs=4"], project)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
    records = read_metrics(run_dir)
    starts = [r for r in records if r.get("event") == "start"]
    assert len(starts) == 2 and starts[1]["resumed"] is True and starts[1]["step"] == stopped_at
    assert starts[1]["task"] == "segmentation"
    assert records[-1]["status"] == "completed" and records[-1]["step"] == 4 * 4
    after = records[records.index(starts[1]) + 1 :]
    assert any("val/miou" in r.get("metrics", {}) for r in after)
