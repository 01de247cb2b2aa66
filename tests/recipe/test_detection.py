"""Detection as a task: mAP by hand on a tiny case, the detectors by name (no download, min /
max size exposed, a weights file), the detector's own losses summed and logged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from recipe.losses import DetectorLoss
from recipe.registry import instantiate
from recipe.tasks import default_monitor, task_metrics
from recipe.vision.detection import tiny_fcos


def test_map_matches_hand_computed_values_and_ignores_crowd_boxes() -> None:
    metrics = task_metrics("detection", 2).clone(prefix="val/")
    target = {
        "boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]]),
        "labels": torch.tensor([1, 1, 1]),
        "iscrowd": torch.tensor([0, 0, 1]),  # the third: a crowd box
    }
    predicted = {
        # IoU 1 with box 1; IoU 100/150 = 0.667 with box 2; the best score on the crowd box.
        "boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 35], [40, 40, 50, 50]]),
        "scores": torch.tensor([0.9, 0.8, 0.95]),
        "labels": torch.tensor([1, 1, 1]),
    }
    metrics.update([predicted], [target])
    values = {k: float(v) for k, v in metrics.compute().items() if v.numel() == 1}
    # IoU thresholds 0.50, 0.55, 0.60, 0.65: both true -> AP 1. At 0.70 .. 0.95 (six): the
    # second is a false positive after a true one: precision 1 up to recall 0.5, then 0;
    # COCO's 101-point interpolation -> 51/101. The crowd match counts for nothing (were it
    # a false positive, ranked first, every AP would drop).
    assert values["val/map_50"] == pytest.approx(1.0)
    assert values["val/map_75"] == pytest.approx(51 / 101, abs=1e-6)
    assert values["val/map"] == pytest.approx((4 * 1 + 6 * 51 / 101) / 10, abs=1e-6)
    assert default_monitor("detection") == ("val/map_50", "max")


def test_the_loss_is_the_sum_of_the_detectors_losses_weighted_by_name() -> None:
    parts = {"loss_classifier": torch.tensor(0.5), "loss_box_reg": torch.tensor(0.25)}
    assert float(DetectorLoss()(parts)) == pytest.approx(0.75)
    assert float(DetectorLoss({"loss_box_reg": 2.0})(parts)) == pytest.approx(1.0)


def test_the_tiny_fcos_returns_its_losses_in_training_and_boxes_in_eval() -> None:
    torch.manual_seed(0)
    model = tiny_fcos((3, 64, 64), 4)
    targets = [
        {"boxes": torch.tensor([[4.0, 6, 30, 28]]), "labels": torch.tensor([2])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)},  # none
    ]
    losses = model([torch.rand(3, 64, 64), torch.rand(3, 48, 80)], targets)
    assert set(losses) == {"classification", "bbox_regression", "bbox_ctrness"}
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        out = model([torch.rand(3, 40, 100)])
    assert set(out[0]) == {"boxes", "scores", "labels"}
    boxes = out[0]["boxes"]  # in the input's own pixels, whatever size the model ran at
    assert len(boxes) == 0 or (float(boxes[:, 2].max()) <= 100 and float(boxes[:, 3].max()) <= 40)
    # GroupNorm throughout by default: nothing whose eval-mode statistics lag training.
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    batch = tiny_fcos((3, 64, 64), 4, norm="batch")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in batch.modules())
    with pytest.raises(ValueError, match="norm: 'group' or 'batch'"):
        tiny_fcos((3, 64, 64), 4, norm="layer")


@pytest.mark.parametrize(
    "name",
    [
        "fasterrcnn_mobilenet_v3_large_320_fpn",
        "ssdlite320_mobilenet_v3_large",
        "retinanet_resnet50_fpn",
        "fcos_resnet50_fpn",
    ],
)
def test_torchvision_detectors_take_the_classes_and_no_weights_unless_named(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # An empty torch hub: a download would be tried (and fail: no network) if weights or
    # weights_backbone were left to torchvision's defaults.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ref = {"_target_": name, "min_size": 96, "max_size": 128}
    if name.startswith("ssd"):  # a fixed 320x320 input
        with pytest.raises(ValueError, match="320x320: drop min_size / max_size"):
            instantiate(ref, "model", input_shape=(3, 64, 64), num_outputs=4)
        ref = {"_target_": name}
    model = instantiate(ref, "model", input_shape=(3, 64, 64), num_outputs=4)
    sizes = (model.transform.min_size, model.transform.max_size)
    assert sizes == ((320,), 320) if name.startswith("ssd") else sizes == ((96,), 128)
    model.eval()
    with torch.no_grad():
        out = model([torch.rand(3, 64, 64)])
    assert set(out[0]) == {"boxes", "scores", "labels"}
    assert not (tmp_path / "torch").exists()


def test_a_weights_file_loads_a_whole_detector(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from recipe.vision.weights import WeightsError

    monkeypatch.chdir(tmp_path)
    ref = {"_target_": "fasterrcnn_mobilenet_v3_large_320_fpn", "min_size": 64}
    source = instantiate(ref, "model", input_shape=(3, 64, 64), num_outputs=4)
    torch.save(source.state_dict(), tmp_path / "detector.pth")
    loaded = instantiate(
        {**ref, "weights_file": "detector.pth"}, "model", input_shape=(3, 64, 64), num_outputs=4
    )
    for key, value in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with pytest.raises(WeightsError, match="does not fit torchvision"):
        instantiate(
            {**ref, "weights_file": "detector.pth"}, "model", input_shape=(3, 64, 64), num_outputs=3
        )


def test_weights_backbone_comes_from_the_cache_only_and_predict_needs_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchvision.models import MobileNet_V3_Large_Weights, mobilenet_v3_large
    from torchvision.ops.misc import FrozenBatchNorm2d

    from recipe.vision.weights import WeightsError, from_checkpoint, torch_hub_file

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ref = {"_target_": "fasterrcnn_mobilenet_v3_large_320_fpn", "weights_backbone": "IMAGENET1K_V1"}
    with pytest.raises(WeightsError, match="not in torch's hub cache"):  # never a download
        instantiate(ref, "model", input_shape=(3, 64, 64), num_outputs=4)
    # A freshly initialised backbone written where torchvision caches the ImageNet weights.
    torch.manual_seed(1)
    backbone = mobilenet_v3_large()
    cache = Path(torch_hub_file(MobileNet_V3_Large_Weights.IMAGENET1K_V1.url))
    cache.parent.mkdir(parents=True)
    torch.save(backbone.state_dict(), cache)
    model = instantiate(ref, "model", input_shape=(3, 64, 64), num_outputs=4)
    first = model.backbone.body["0"][0].weight
    assert torch.equal(first, backbone.features[0][0].weight)
    assert isinstance(model.backbone.body["0"][1], FrozenBatchNorm2d)  # as torchvision does
    # predict rebuilds it without the cache (the checkpoint holds every parameter): its
    # state dict loads strictly, and in eval mode it computes the very same features.
    cache.unlink()
    with from_checkpoint():
        rebuilt = instantiate(ref, "model", input_shape=(3, 64, 64), num_outputs=4)
    rebuilt.load_state_dict(model.state_dict())
    image = torch.rand(1, 3, 64, 64)
    model.eval(), rebuilt.eval()
    with torch.no_grad():  # the very same network: the same features
        assert torch.equal(model.backbone(image)["0"], rebuilt.backbone(image)["0"])


def test_a_model_argument_the_builder_refuses_is_one_line_at_its_place(project: Path) -> None:
    from recipe import EXIT_CONFIG_ERROR
    from scripts.make_shapes_dataset import write_dataset
    from tests.helpers import run_recipe

    write_dataset(project / "data/shapes_tasks", images=10, size=32, seed=1)
    config = project / "configs/detect_shapes.yaml"
    text = config.read_text()
    config.write_text(text.replace("  norm: group ", "  norm: layr  "))
    line = next(n for n, t in enumerate(text.splitlines(), start=1) if "  norm: group" in t)
    result = run_recipe(["train", "configs/detect_shapes.yaml", "--run-dir", "r"], project)
    assert result.returncode == EXIT_CONFIG_ERROR
    assert result.stderr.strip().splitlines()[0] == (
        f"configs/detect_shapes.yaml:{line}:9: model: norm: 'group' or 'batch', got 'layr'"
    )
    assert "Traceback" not in result.stdout + result.stderr
