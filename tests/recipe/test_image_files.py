"""Images read lazily from disk: folders and manifests, model preprocessing, v2 augmentation
seeded per sample, MixUp / CutMix training, predict on image files, and memory.

Every image is a real file written with Pillow into a temporary folder; training and
predict run as real subprocesses. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch
from PIL import Image

from recipe import data
from recipe.data import DataError
from recipe.data.image_files import ImageFiles
from recipe.vision.preprocessing import ImagePreprocessing
from tests.helpers import make_project, read_metrics, run_recipe

COLOURS = {"blue": (20, 40, 220), "green": (30, 200, 60), "red": (230, 30, 30)}


def shapes_folder(root: Path, per_class: int = 8, size: int = 32) -> Path:
    """A class per colour; each image a coloured square at a random place on noise."""
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 60, (size, size + 4, 3), dtype=np.uint8)
            top, left = rng.integers(0, size // 2, 2)
            pixels[top : top + size // 2, left : left + size // 2] = colour
            suffix = ".png" if i % 2 else ".jpg"
            Image.fromarray(pixels).save(root / name / f"{i:03d}{suffix}")
    return root


def stacked(dataset) -> torch.Tensor:
    return torch.stack([dataset[i][0] for i in range(len(dataset))])


def batches(loader, epoch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    loader.sampler.set_epoch(epoch)
    return list(loader)


AUGMENT = [
    {"RandomResizedCrop": {"scale": [0.5, 1.0]}},
    "RandomHorizontalFlip",
    {"ColorJitter": {"brightness": 0.3, "contrast": 0.3}},
    "TrivialAugmentWide",
    {"RandomErasing": {"p": 0.5}},
]


# ---------------------------------------------------------------- reading


def test_mixed_modes_are_converted_and_other_files_ignored(tmp_path):
    root = tmp_path / "imgs"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
    Image.new("L", (10, 10), 200).save(root / "a" / "gray.png")
    Image.new("RGBA", (10, 10), (255, 0, 0, 128)).save(root / "a" / "alpha.png")
    palette = Image.new("P", (10, 10), 1)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.save(root / "b" / "palette.png", transparency=0)
    Image.new("RGB", (10, 10), (0, 0, 255)).save(root / "b" / "rgb.jpg")
    (root / "b" / "notes.txt").write_text("not an image")
    (root / "b" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    bundle = data.image_folder(str(root), size=8, normalize=False, val_fraction=0.5)
    everything = ImageFiles([*bundle.train.paths, *bundle.val.paths], [0] * 4, bundle.val.transform)
    by_name = {Path(p).name: everything[i][0] for i, p in enumerate(everything.paths)}
    assert sorted(by_name) == ["alpha.png", "gray.png", "palette.png", "rgb.jpg"]
    assert all(x.shape == (3, 8, 8) for x in by_name.values())
    assert torch.allclose(by_name["gray.png"], torch.full((3, 8, 8), 200 / 255))
    assert torch.allclose(by_name["palette.png"][:, 0, 0], torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(by_name["alpha.png"][:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))


def test_a_corrupt_image_is_skipped_with_one_warning_line_naming_it(tmp_path, capsys):
    root = shapes_folder(tmp_path / "imgs", per_class=4)
    (root / "red" / "broken.png").write_bytes(b"not an image at all")
    (root / "red" / "empty.jpg").write_bytes(b"")
    bundle = data.image_folder(str(root), size=8)
    assert len(bundle.train) + len(bundle.val) == 12
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "skipped 2 unreadable image file(s)" in lines[0]
    assert str(root / "red" / "broken.png") in lines[0]
    assert str(root / "red" / "empty.jpg") in lines[0]


def test_an_image_that_fails_to_decode_later_is_an_error_naming_it(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.full((64, 64, 3), 7, np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:80])  # header intact, pixels gone
    dataset = ImageFiles([path], [0], lambda image: torch.zeros(1))
    with pytest.raises(DataError, match=r"cut.png: cannot read this image"):
        dataset[0]


def test_manifest_csv_and_jsonl_give_the_same_data(tmp_path):
    shapes_folder(tmp_path / "imgs", per_class=4)
    files = sorted((tmp_path / "imgs").rglob("*.*"))
    rows = [(str(f.relative_to(tmp_path / "imgs")), f.parent.name) for f in files]
    (tmp_path / "imgs" / "list.csv").write_text(
        "path,label\n" + "".join(f"{p},{label}\n" for p, label in rows)
    )
    (tmp_path / "imgs" / "list.jsonl").write_text(
        "".join(json.dumps({"file": p, "class": label}) + "\n" for p, label in rows)
    )
    from_csv = data.image_manifest(str(tmp_path / "imgs" / "list.csv"), size=8)
    from_jsonl = data.image_manifest(
        str(tmp_path / "imgs" / "list.jsonl"), path_column="file", label_column="class", size=8
    )
    folder = data.image_folder(str(tmp_path / "imgs"), size=8)
    assert from_csv.class_names == from_jsonl.class_names == ["blue", "green", "red"]
    for bundle in (from_csv, from_jsonl):
        assert list(bundle.train.paths) == list(folder.train.paths)
        assert torch.equal(stacked(bundle.val), stacked(folder.val))


def test_manifest_errors_name_the_file_and_line(tmp_path):
    shapes_folder(tmp_path / "imgs", per_class=2)
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nimgs/red/000.jpg,red\nimgs/red/nothing.png,red\n")
    with pytest.raises(DataError, match=r"bad.csv:3: .*nothing.png: no such file"):
        data.image_manifest(str(bad))
    with pytest.raises(DataError, match=r"bad.csv: no column 'file'.*set path_column"):
        data.image_manifest(str(bad), path_column="file")
    broken = tmp_path / "bad.jsonl"
    broken.write_text('{"path": "imgs/red/000.jpg", "label": "red"}\n{"path": oops}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: not JSON"):
        data.image_manifest(str(broken))


# ---------------------------------------------------------------- preprocessing


def test_a_models_preprocessing_sets_the_eval_transform(tmp_path):
    from torchvision.transforms.v2 import functional as F

    root = shapes_folder(tmp_path / "imgs", per_class=2, size=40)
    model = ImagePreprocessing(
        input_size=(3, 24, 24),
        resize_size=30,
        interpolation="bicubic",
        mean=(0.5, 0.4, 0.3),
        std=(0.2, 0.25, 0.3),
        source="test-model",
    )
    bundle = data.image_folder(str(root), preprocessing=model, val_fraction=0.5)
    assert bundle.input_shape == (3, 24, 24)
    assert ImagePreprocessing.from_json(bundle.preprocess["image"]) == model
    path = bundle.val.paths[0]
    with Image.open(path) as image:
        expected = F.to_image(image.convert("RGB"))
    expected = F.resize(expected, [30], interpolation=F.InterpolationMode.BICUBIC)
    expected = F.center_crop(expected, [24, 24])
    expected = F.normalize(F.to_dtype(expected, torch.float32, scale=True), model.mean, model.std)
    assert torch.equal(bundle.val[0][0], expected)
    resized = data.image_folder(str(root), preprocessing=model, size=16, val_fraction=0.5)
    assert resized.input_shape == (3, 16, 16) and resized.preprocess["image"]["resize_size"] == 20
    # Grayscale data: the library model takes one channel (timm's in_chans, torchvision's
    # summed first convolution), normalised with the mean of the model's statistics.
    gray = data.image_folder(str(root), preprocessing=model, grayscale=True, val_fraction=0.5)
    assert gray.input_shape == (1, 24, 24)
    assert gray.preprocess["image"]["mean"] == [pytest.approx(sum(model.mean) / 3)]
    one_channel = ImagePreprocessing.from_json({**model.to_json(), "input_size": [1, 24, 24]})
    with pytest.raises(DataError, match=r"takes 1-channel images but grayscale is false"):
        data.image_folder(str(root), preprocessing=one_channel, val_fraction=0.5)


# ---------------------------------------------------------------- augmentation


def test_augmentation_is_reproducible_per_sample_across_workers_and_resumes(tmp_path):
    root = shapes_folder(tmp_path / "imgs", per_class=4, size=24)
    bundle = data.image_folder(str(root), size=16, augment=AUGMENT, seed=3)
    before = torch.get_rng_state()
    in_process = data.make_loader(bundle.train, batch_size=4, shuffle=True, seed=3)
    first = batches(in_process, 1)
    assert torch.equal(torch.get_rng_state(), before)  # the global generator is left alone
    workers = data.make_loader(
        bundle.train, batch_size=4, shuffle=True, seed=3, num_workers=2, persistent_workers=False
    )
    again = batches(workers, 1)
    rebuilt = data.image_folder(str(root), size=16, augment=AUGMENT, seed=3)  # a resume
    resumed = batches(data.make_loader(rebuilt.train, batch_size=4, shuffle=True, seed=3), 1)
    for a, b, c in zip(first, again, resumed, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        assert torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])
    other_epoch = batches(in_process, 2)
    assert not torch.equal(torch.cat([x for x, _ in first]), torch.cat([x for x, _ in other_epoch]))
    # It augments: the same images differ from their eval transform, and validation does not.
    x, _ = bundle.train[(1, 0)]
    assert x.shape == (3, 16, 16) and not torch.equal(x, bundle.train[(2, 0)][0])
    assert torch.equal(bundle.val[(1, 0)][0], bundle.val[(2, 0)][0])


def test_under_ddp_lightnings_sampler_wrapper_shards_the_image_loader(tmp_path):
    """Under DDP Lightning re-creates the loader around `DistributedSamplerWrapper(ours)`
    (Lightning's own calls below, as its data connector makes them): each rank reads its
    shard, and a checkpoint's mid-epoch position restarts that epoch instead of failing
    (it failed: the wrapper has no `skip_next`, and every DDP run on image files died)."""
    import math

    from lightning_fabric.utilities.data import _update_dataloader
    from lightning_fabric.utilities.distributed import DistributedSamplerWrapper

    root = shapes_folder(tmp_path / "imgs", per_class=4, size=24)
    bundle = data.image_folder(str(root), size=16, seed=3)
    loader = data.make_loader(bundle.train, batch_size=2, shuffle=True, seed=3)
    per_rank = math.ceil(len(bundle.train) / 2)
    for rank in (0, 1):
        wrapper = DistributedSamplerWrapper(loader.sampler, num_replicas=2, rank=rank, seed=3)
        sharded = _update_dataloader(loader, wrapper)
        sharded.load_state_dict({"epoch": 0, "batches_done": 1})  # resumed mid-epoch
        got = list(sharded)
        assert sum(len(y) for _, y in got) == per_rank
        assert sharded.state_dict()["batches_done"] == len(got) == math.ceil(per_rank / 2)


def test_a_run_resumed_mid_epoch_sees_the_same_augmented_batches(tmp_path):
    import pytorch_lightning as pl

    class Recorder(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(3 * 8 * 8, 3)
            self.seen: list[torch.Tensor] = []

        def training_step(self, batch, batch_idx):
            x, y = batch
            self.seen.append(x.clone())
            return torch.nn.functional.cross_entropy(self.layer(x.flatten(1)), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    class SaveAtStep(pl.Callback):
        def on_train_batch_end(self, trainer, *args) -> None:
            if trainer.global_step == 8:
                trainer.save_checkpoint(tmp_path / "mid.ckpt")  # as a stop mid-epoch would

    root = shapes_folder(tmp_path / "imgs", per_class=5, size=12)

    def fit(module, ckpt_path=None):
        bundle = data.image_folder(str(root), size=8, augment=AUGMENT, seed=5)  # 12 images
        loader = data.make_loader(
            bundle.train, batch_size=2, shuffle=True, seed=5, num_workers=2,
            persistent_workers=False,
        )  # fmt: skip
        trainer = pl.Trainer(
            max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, callbacks=[SaveAtStep()],
        )  # fmt: skip
        trainer.fit(module, train_dataloaders=loader, ckpt_path=ckpt_path)
        return trainer

    straight = Recorder()
    fit(straight)
    assert len(straight.seen) == 12
    resumed = Recorder()
    assert fit(resumed, ckpt_path=str(tmp_path / "mid.ckpt")).global_step == 12
    assert len(resumed.seen) == 4  # the rest of epoch 2, the same augmented images
    assert all(torch.equal(a, b) for a, b in zip(resumed.seen, straight.seen[8:], strict=True))


def test_the_old_augment_mapping_still_works_on_lazy_images(tmp_path):
    root = shapes_folder(tmp_path / "imgs", per_class=3, size=12)
    bundle = data.image_folder(str(root), size=8, augment={"hflip": 1.0}, val_fraction=0.34)
    x = stacked(bundle.train)
    assert bundle.train_transform is not None
    assert torch.equal(bundle.train_transform(x), x.flip(-1))


def test_mixup_and_cutmix_give_soft_targets(tmp_path):
    root = shapes_folder(tmp_path / "imgs", per_class=3, size=12)
    bundle = data.image_folder(
        str(root), size=8, mixup={"alpha": 0.4}, cutmix={"alpha": 1.0}, val_fraction=0.34
    )
    x, y = next(iter(data.make_loader(bundle.train, batch_size=6, shuffle=True)))
    assert bundle.batch_mix is not None
    mixed, soft = bundle.batch_mix(x, y)
    assert len(x) == 5 and mixed.shape == x.shape and soft.shape == (5, 3)
    assert torch.allclose(soft.sum(dim=1), torch.ones(5))
    loss = torch.nn.CrossEntropyLoss()(torch.zeros(5, 3), soft)  # the recipe's default loss
    assert torch.isclose(loss, torch.log(torch.tensor(3.0)))


def test_batch_mixing_in_training_is_seeded_by_epoch_and_batch(tmp_path, monkeypatch):
    from recipe.checking import validate
    from recipe.module import RecipeModule

    project = make_project(tmp_path / "project")
    root = shapes_folder(project / "imgs", per_class=3, size=12)
    bundle = data.image_folder(str(root), size=8, mixup={"alpha": 1.0}, val_fraction=0.34)
    monkeypatch.chdir(project)
    config = validate("configs/digits_cnn.yaml", [])
    info = {"task": "classification", "input_shape": [3, 8, 8], "num_outputs": 3,
            "class_names": bundle.class_names, "preprocess": bundle.preprocess}  # fmt: skip
    module = RecipeModule(config.data, info)
    module.batch_mix = bundle.batch_mix
    x, y = next(iter(data.make_loader(bundle.train, batch_size=5, shuffle=False)))
    before = torch.get_rng_state()
    first, again, other = module._mixed(x, y, 0), module._mixed(x, y, 0), module._mixed(x, y, 1)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.equal(first[1], other[1])


def test_mixing_with_a_loss_that_takes_no_soft_targets_is_refused_at_its_line(tmp_path):
    project = make_project(tmp_path / "project")
    shapes_folder(project / "imgs", per_class=2, size=12)
    (project / "configs" / "nll.yaml").write_text(
        "data: {_target_: image_folder, path: imgs, size: 8, cutmix: {alpha: 1.0}, "
        "val_fraction: 0.5}\n"
        "model: cnn\n"
        "loss: nll\n"
    )
    result = run_recipe(["train", "configs/nll.yaml", "--run-dir", "r"], project)
    assert result.returncode == 2
    assert "configs/nll.yaml:3:7: NLLLoss cannot take the soft targets mixup / cutmix" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_recipe_check_reports_augment_mistakes_at_their_lines(tmp_path):
    project = make_project(tmp_path / "project")
    shapes_folder(project / "imgs", per_class=2, size=12)
    (project / "configs" / "aug.yaml").write_text(
        "data:\n"
        "  _target_: image_folder\n"
        "  path: imgs\n"
        "  augment:\n"
        "    - RandomHorizontalFlips\n"
        "    - ColorJitter: {brightnes: 0.2}\n"
        "    - RandomResizedCrop: {scale: 0.5}\n"
        "    - MixUp\n"
        "  mixup: {alpha: -1}\n"
        "model: cnn\n"
    )
    result = run_recipe(["check", "configs/aug.yaml"], project)
    assert result.returncode != 0
    errors = result.stderr
    assert (
        "configs/aug.yaml:5:7: unknown augmentation 'RandomHorizontalFlips'; "
        "did you mean 'RandomHorizontalFlip'" in errors
    )
    assert "configs/aug.yaml:6:21: ColorJitter has no argument 'brightnes'; did you" in errors
    assert "configs/aug.yaml:7:7: RandomResizedCrop: " in errors
    assert "configs/aug.yaml:8:7: MixUp mixes whole batches: use the data key 'mixup" in errors
    assert "configs/aug.yaml:9:" in errors and "mixup.alpha: a number > 0, got -1" in errors
    assert "Traceback" not in errors


# ---------------------------------------------------------------- training and predict


def test_training_on_lazy_images_with_workers_mixup_cutmix_then_predict(tmp_path):
    project = make_project(tmp_path / "project")
    shapes_folder(project / "imgs", per_class=10, size=32)
    (project / "configs" / "shapes.yaml").write_text(
        "data:\n"
        "  _target_: image_folder\n"
        "  path: imgs\n"
        "  size: 24\n"
        f"  augment: {json.dumps(AUGMENT)}\n"
        "  mixup: {alpha: 0.2}\n"
        "  cutmix: {alpha: 1.0}\n"
        "model: cnn\n"
        "optimizer: {_target_: adamw, lr: 3.0e-3}\n"
        "dataloader: {batch_size: 8, num_workers: 2}\n"
        "trainer: {max_epochs: 2, log_every_n_steps: 1}\n"
    )
    result = run_recipe(["train", "configs/shapes.yaml", "--run-dir", "r"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    run = project / "r"
    records = read_metrics(run)
    losses = [r["metrics"]["train/loss_epoch"] for r in records if "metrics" in r
              if "train/loss_epoch" in r["metrics"]]  # fmt: skip
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert records[-1]["status"] == "completed"
    info = json.loads((run / "predict.json").read_text())
    assert info["preprocess"]["kind"] == "image_files"
    assert info["preprocess"]["image"]["input_size"] == [3, 24, 24]

    # predict on image files applies exactly the validation (eval) transform
    os.chdir(project)  # the data paths are relative to the project, as in training
    bundle = data.image_folder("imgs", size=24, seed=0)
    files = [str(p) for p in bundle.val.paths]
    x, _ = data.load_inputs(info["preprocess"], files)
    assert torch.equal(x, stacked(bundle.val))
    from recipe.module import RecipeModule

    module = RecipeModule.load_from_checkpoint(run / "checkpoints" / "best.ckpt").eval()
    with torch.inference_mode():
        probabilities = module(x).softmax(dim=1)
    predicted = run_recipe(["predict", "r", *files], project)
    assert predicted.returncode == 0, predicted.stderr
    rows = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert [row["input"] for row in rows] == files
    for row, p in zip(rows, probabilities, strict=True):
        best = row["top_k"][0]
        assert best["index"] == int(p.argmax())
        assert best["probability"] == pytest.approx(float(p.max()), abs=1e-5)


def test_an_image_failing_to_decode_in_a_worker_fails_the_run_with_one_line(tmp_path):
    project = make_project(tmp_path / "project")
    shapes_folder(project / "imgs", per_class=4, size=16)
    cut = project / "imgs" / "red" / "cut.png"
    Image.fromarray(np.full((64, 64, 3), 7, np.uint8)).save(cut)
    cut.write_bytes(cut.read_bytes()[:80])  # the header reads; the pixels do not
    # normalize: false: no statistics sample read at start-up, so a worker meets it first
    (project / "configs" / "cut.yaml").write_text(
        "data: {_target_: image_folder, path: imgs, size: 16, normalize: false}\n"
        "model: cnn\n"
        "dataloader: {batch_size: 4, num_workers: 2}\n"
        "trainer: {max_epochs: 1}\n"
    )
    result = run_recipe(["train", "configs/cut.yaml", "--run-dir", "r"], project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"data: {cut.relative_to(project)}: cannot read this image" in result.stderr
    assert "Traceback" not in result.stderr
    assert read_metrics(project / "r")[-1]["status"] == "failed"


# ---------------------------------------------------------------- memory


@pytest.fixture(scope="session")
def big_folder(tmp_path_factory) -> Path:
    """2,000 JPEG images of 256 px in 4 classes, written once per test session."""
    root = tmp_path_factory.mktemp("big-images")
    gradient = np.linspace(0, 255, 256, dtype=np.float32)
    base = (gradient[None, :, None] + gradient[:, None, None]) / 2
    for c in range(4):
        (root / f"c{c}").mkdir()
        for i in range(500):
            pixels = (base + np.array([c * 40, i % 200, 255 - c * 40], np.float32)) % 256
            Image.fromarray(pixels.astype(np.uint8)).save(root / f"c{c}" / f"{i}.jpg", quality=80)
    return root


def _memory(process: psutil.Process) -> int:
    """The main process's RSS plus its workers' own pages (USS: not the shared ones)."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):  # a worker that just ended
            total += child.memory_full_info().uss
    return total


def test_memory_stays_flat_while_iterating_2000_images(big_folder, tmp_path):
    size = 192
    decoded = 2000 * 3 * size * size * 4  # what the images would take held in memory: 884 MB
    warm = shapes_folder(tmp_path / "warm", per_class=2, size=8)
    data.image_folder(
        str(warm), size=size, val_fraction=0.5
    )  # imports (torchvision) before the baseline
    process = psutil.Process()
    baseline = process.memory_info().rss
    bundle = data.image_folder(str(big_folder), size=size, augment=["RandomHorizontalFlip"])
    loader = data.make_loader(
        bundle.train, batch_size=32, shuffle=True, num_workers=2, persistent_workers=False
    )
    peak, seen = 0, 0
    for index, (x, _) in enumerate(loader):
        seen += len(x)
        if index % 5 == 0:
            peak = max(peak, _memory(process))
    assert seen == len(bundle.train) == 1600
    growth = peak - baseline
    print(f"memory growth over a full epoch: {growth / 2**20:.0f} MiB "
          f"(decoded images: {decoded / 2**20:.0f} MiB)")  # fmt: skip
    # Measured here: 61-72 MiB (the workers' own pages and the batches in flight).
    assert growth < 128 * 2**20, f"{growth / 2**20:.0f} MiB"
