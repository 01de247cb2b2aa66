"""timm and torchvision models by name: real (tiny) training through `python -m recipe train`,
names checked against each library's own list with did-you-mean (torch-free once cached),
and the preprocessing each model expects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import read_metrics, recipe_env, run_recipe

# Small and quick: 4 batches of 32 digit images (8x8 PNGs resized to 32) per epoch.
IMAGES = """\
data:
  _target_: image_folder
  path: examples/digit_images
  size: 32
  grayscale: {grayscale}
dataloader:
  batch_size: 32
trainer:
  max_epochs: 2
  limit_train_batches: 4
  limit_val_batches: 2
"""


def write_config(project: Path, name: str, model: str, grayscale: bool = False) -> str:
    text = IMAGES.format(grayscale=str(grayscale).lower()) + "model:\n" + model
    (project / "configs" / name).write_text(text)
    return f"configs/{name}"


def trained_state(run_dir: Path) -> dict[str, torch.Tensor]:
    payload = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu")
    return payload["state_dict"]


def test_a_timm_model_trains_on_grayscale_images_and_predicts(project: Path) -> None:
    config = write_config(
        project,
        "timm.yaml",
        "  _target_: timm\n  name: resnet10t\n  drop_rate: 0.1\n",
        grayscale=True,
    )
    result = run_recipe(["train", config, "--run-dir", "runs/timm"], project)
    assert result.returncode == 0, result.stderr
    run_dir = project / "runs" / "timm"
    state = trained_state(run_dir)
    # in_chans followed the data (1 channel); the classifier has one output per class.
    assert state["model.conv1.0.weight"].shape[1] == 1
    assert state["model.fc.weight"].shape[0] == 10
    epochs = [r for r in read_metrics(run_dir) if "val/acc" in r.get("metrics", {})]
    assert [r["epoch"] for r in epochs] == [0, 1]
    image = next((project / "examples" / "digit_images" / "3").iterdir())
    predicted = run_recipe(["predict", "runs/timm", str(image)], project)
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout.splitlines()[0])["prediction"] in [str(d) for d in range(10)]


def write_colour_folder(root: Path, per_class: int = 12, size: int = 40) -> list[str]:
    """Generated RGB images, one subfolder per class: noisy red, green or blue squares."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    classes = ["red", "green", "blue"]
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, (size, size, 3))
            pixels[..., index] += 150
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i:02d}.png")
    return classes


def test_a_torchvision_model_trains_on_generated_colour_images(project: Path) -> None:
    classes = write_colour_folder(project / "colours")
    text = IMAGES.replace("examples/digit_images", "colours").format(grayscale="false")
    (project / "configs" / "tv.yaml").write_text(
        text + "model:\n  _target_: torchvision\n  name: mobilenet_v3_small\n"
    )
    result = run_recipe(["train", "configs/tv.yaml", "--run-dir", "runs/tv"], project)
    assert result.returncode == 0, result.stderr
    state = trained_state(project / "runs" / "tv")
    assert state["model.features.0.0.weight"].shape[1] == 3
    assert state["model.classifier.3.weight"].shape == (3, 1024)
    predicted = run_recipe(["predict", "runs/tv", "colours/green/00.png"], project)
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout.splitlines()[0])["prediction"] in classes


def test_other_keys_go_to_the_library() -> None:
    from recipe.vision.models import timm_model, torchvision_model

    tv = torchvision_model("mobilenet_v3_small", num_outputs=3, dropout=0.5)
    assert tv.classifier[2].p == 0.5
    tm = timm_model("test_efficientnet", num_outputs=3, drop_rate=0.3, input_shape=(3, 32, 32))
    assert tm.drop_rate == 0.3


def test_timm_names_its_own_classifier() -> None:
    from recipe.vision.models import head_name, timm_model

    model = timm_model("test_vit", num_outputs=3, input_shape=(3, 32, 32), img_size=32)
    assert head_name(model) == "head"
    assert model.get_submodule("head") is model.get_classifier()
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 3)


def test_torchvision_adapts_its_first_convolution_to_grayscale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchvision.models import get_model

    from recipe.vision.models import torchvision_model

    monkeypatch.chdir(tmp_path)
    saved = get_model("mobilenet_v3_small").state_dict()
    torch.save(saved, "rgb.pth")
    model = torchvision_model(
        "mobilenet_v3_small", num_outputs=4, weights_file="rgb.pth", input_shape=(1, 24, 24)
    )
    first = model.features[0][0]
    assert first.in_channels == 1
    # The pretrained RGB filters summed over the channels (as timm adapts in_chans=1).
    assert torch.allclose(first.weight, saved["features.0.0.weight"].sum(dim=1, keepdim=True))
    assert model(torch.rand(2, 1, 24, 24)).shape == (2, 4)


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("squeezenet1_1", "classifier.1"),  # a 1x1 convolution, not a Linear
        ("shufflenet_v2_x0_5", "fc"),
        ("regnet_x_400mf", "fc"),
        ("mnasnet0_5", "classifier.1"),
    ],
)
def test_torchvision_heads_are_replaced_on_each_architecture(name: str, head: str) -> None:
    from recipe.vision.models import head_name, torchvision_model
    from recipe.vision.weights import from_checkpoint

    # Built as for a checkpoint (no weights file needed): the same layers as with weights.
    with from_checkpoint():
        model = torchvision_model(name, num_outputs=7, weights="DEFAULT", input_shape=(3, 64, 64))
    assert head_name(model) == head
    layer = model.get_submodule(head)
    assert getattr(layer, "out_features", getattr(layer, "out_channels", None)) == 7
    model.eval()
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 7)


WRONG_NAMES = [
    (
        "  _target_: timm\n  name: resnt10t\n",
        "configs/bad.yaml:14:9: timm has no model 'resnt10t'; did you mean 'resnet10t' or "
        "'resnet50t' or 'resnet14t'? (its names: timm.list_models('res*'))",
    ),
    (
        "  _target_: timm\n  name: resnet10t.a1_in1k\n",
        "configs/bad.yaml:14:9: timm model 'resnet10t' has no pretrained tag 'a1_in1k'; "
        "did you mean 'resnet10t.c3_in1k'? (its tags: resnet10t.c3_in1k)",
    ),
    (
        "  _target_: torchvision\n  name: mobilenet_v3_smal\n",
        "configs/bad.yaml:14:9: torchvision has no classification model 'mobilenet_v3_smal'; "
        "did you mean 'mobilenet_v3_small' or 'mobilenet_v3_large' or 'mobilenet_v2'? "
        "(its names: torchvision.models.list_models())",
    ),
    (
        "  _target_: torchvision\n  name: mobilenet_v3_small\n  weights: IMAGENET1K_V2\n",
        "configs/bad.yaml:15:12: torchvision model 'mobilenet_v3_small' has no weights "
        "'IMAGENET1K_V2'; did you mean 'IMAGENET1K_V1'? (MobileNet_V3_Small_Weights: "
        "IMAGENET1K_V1, DEFAULT)",
    ),
    (
        "  _target_: torchvision\n  name: resnet18\n  weights: ResNet50_Weights.DEFAULT\n",
        "configs/bad.yaml:15:12: torchvision model 'resnet18' takes weights of "
        "ResNet18_Weights, not 'ResNet50_Weights.DEFAULT' (write e.g. 'weights: IMAGENET1K_V1')",
    ),
]

QUICK_CHECK = """
import sys
from recipe.config.validate import check_text
problems = check_text(open(sys.argv[1]).read(), sys.argv[1])
print("\\n".join(str(p) for p in problems))
assert "torch" not in sys.modules and "timm" not in sys.modules, "imported a library"
"""


@pytest.mark.parametrize(("model", "message"), WRONG_NAMES)
def test_a_wrong_name_is_reported_at_its_line_with_did_you_mean(
    project: Path, model: str, message: str
) -> None:
    config = write_config(project, "bad.yaml", model)
    quick = [sys.executable, "-c", QUICK_CHECK, config]
    # Before any full check the editor's quick check has no list: it says nothing yet.
    before = subprocess.run(quick, cwd=project, env=recipe_env(), capture_output=True, text=True)
    assert before.returncode == 0 and before.stdout.strip() == "", before.stderr
    result = run_recipe(["check", config], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [message, "1 problem(s) found; nothing was trained."]
    # The full check cached the library's list: now the quick check knows, torch-free.
    after = subprocess.run(quick, cwd=project, env=recipe_env(), capture_output=True, text=True)
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == message


def test_the_other_librarys_weights_key_is_refused(project: Path) -> None:
    # torchvision itself would take `pretrained: true` as a request to download.
    tv = write_config(
        project, "tv.yaml", "  _target_: torchvision\n  name: resnet18\n  pretrained: true\n"
    )
    tm = write_config(
        project, "tm.yaml", "  _target_: timm\n  name: resnet18\n  weights: DEFAULT\n"
    )
    for config, message in [
        (
            tv,
            "configs/tv.yaml:15:15: torchvision models take 'weights: DEFAULT' (or a weights "
            "name such as IMAGENET1K_V1), not 'pretrained:'",
        ),
        (
            tm,
            "configs/tm.yaml:15:12: timm models take 'pretrained: true' (a tag in the name "
            "picks the weights, e.g. resnet18.a1_in1k), not 'weights:'",
        ),
    ]:
        result = run_recipe(["check", config], project)
        assert result.returncode == 2
        assert result.stderr.splitlines() == [message, "1 problem(s) found; nothing was trained."]


def test_a_config_without_an_image_model_imports_no_model_library(project: Path) -> None:
    script = (
        "import sys, runpy\n"
        "sys.argv = ['recipe', 'train', 'configs/digits.yaml', 'trainer.max_epochs=1',"
        " '--run-dir', 'runs/d']\n"
        "from recipe.__main__ import main\n"
        "status = main()\n"
        "names = ('timm', 'recipe.vision.models', 'recipe.vision.names')\n"
        "print(sorted(m for m in names if m in sys.modules))\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    # (torchvision itself is imported here by Lightning's torchmetrics, not by the recipe.)
    assert result.stdout.splitlines()[-1] == "[]"


def test_preprocessing_follows_each_librarys_own_config() -> None:
    import timm
    from timm.data import resolve_model_data_config
    from torchvision.models import MobileNet_V3_Small_Weights, ViT_B_16_Weights

    from recipe.vision.preprocessing import ImagePreprocessing, for_model

    # timm: what timm resolves for the built model (its default pretrained tag).
    timm_cfg = resolve_model_data_config(timm.create_model("test_vit"))
    got = for_model({"_target_": "timm", "name": "test_vit"})
    assert got is not None
    assert got.input_size == tuple(timm_cfg["input_size"]) == (3, 160, 160)
    assert got.interpolation == timm_cfg["interpolation"] == "bicubic"
    assert (got.mean, got.std) == (tuple(timm_cfg["mean"]), tuple(timm_cfg["std"]))
    assert got.resize_size == int(160 / timm_cfg["crop_pct"])  # timm's scale_size: 168
    assert got.source == "timm:test_vit.r160_in1k"
    one = for_model({"_target_": "timm", "name": "resnet10t", "in_chans": 1})
    assert one is not None and one.input_size == (1, 176, 176) and len(one.mean) == 1
    # torchvision: the named weights' transforms; without weights, the DEFAULT ones.
    for ref, weights in [
        (
            {"name": "vit_b_16", "weights": "IMAGENET1K_SWAG_E2E_V1"},
            ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1,
        ),
        ({"name": "mobilenet_v3_small"}, MobileNet_V3_Small_Weights.DEFAULT),
    ]:
        expected = weights.transforms()
        got = for_model({"_target_": "torchvision", **ref})
        assert got is not None
        assert got.input_size == (3, *expected.crop_size * 2)
        assert got.resize_size == expected.resize_size[0]
        assert got.interpolation == expected.interpolation.value
        assert list(got.mean) == expected.mean and list(got.std) == expected.std
        assert got.source == f"torchvision:{type(weights).__name__}.{weights.name}"
        assert ImagePreprocessing.from_json(json.loads(json.dumps(got.to_json()))) == got
    assert for_model({"_target_": "resnet", "widths": [8]}) is None
    assert for_model("mlp") is None
