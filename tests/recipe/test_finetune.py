"""Fine-tuning real backbones: the head found by each library's notion of classifier, the
rest frozen (BatchNorm statistics too) for `freeze_epochs`, a backbone learning rate of
lr x `backbone_lr_mult` and a re-warm after unfreezing, with the learning-rate finder and
across resumes. Real timm and torchvision models trained on generated images; what the run
did is recorded by a real Lightning callback in the project's custom.py."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from PIL import Image

from recipe import EXIT_STOPPED
from tests.helpers import read_metrics, run_recipe

# Records, at every optimizer step, what the step saw: which parameters could train, the
# learning rate of each param group during the step (after the optimizer's step pre-hooks,
# where the recipe re-warms), whether a backbone BatchNorm normalised in training mode; at
# each epoch end, digests of the head, the backbone and the backbone's BatchNorm statistics;
# and at every training forward, the learning-rate sweep's included, what could train.
PROBE = """
import hashlib, json, os, signal
import pytorch_lightning as pl
import torch
from recipe.registry import register


def digest(tensors):
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@register("probe")
class Probe(pl.Callback):
    def __init__(self, head: str, out: str = "probe.jsonl"):
        self.head, self.out, self.bn_training = head, out, None

    def write(self, **record):
        with open(self.out, "a") as f:
            f.write(json.dumps(record) + "\\n")

    def setup(self, trainer, pl_module, stage):
        # Before the learning-rate sweep, which runs with none of the run's callbacks: a
        # forward hook on the model itself sees the sweep's training forwards too.
        if not hasattr(self, "hooked"):
            head = pl_module.model.get_submodule(self.head)
            self.head_ids = {id(p) for p in head.parameters()}
            self.hooked = pl_module.model.register_forward_pre_hook(
                lambda module, args: self.forward(trainer, pl_module.model))

    def forward(self, trainer, model):
        if not trainer.training:
            return
        bn = next(m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d))
        self.write(
            event="forward", lr_sweep=type(trainer.callbacks[0]).__name__ == "_LRCallback",
            bn_training=bn.training,
            backbone_trainable=[p.requires_grad for p in model.parameters()
                                if id(p) not in self.head_ids].count(True),
        )

    def on_train_start(self, trainer, pl_module):
        model = pl_module.model
        head = model.get_submodule(self.head)
        head_ids = {id(p) for p in head.parameters()}
        self.model, self.trainer = model, trainer
        self.head_params = list(head.parameters())
        self.backbone = [p for p in model.parameters() if id(p) not in head_ids]
        bns = [m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)
               and not n.startswith(self.head)]
        self.stats = [b for m in bns for b in (m.running_mean, m.running_var)]
        bns[0].register_forward_pre_hook(self.saw_bn)
        self.sweeping = any(type(c).__name__ == "LearningRateFinder" for c in trainer.callbacks)
        self.write(event="train_start", step=trainer.global_step, epoch=trainer.current_epoch,
                   sweeping=self.sweeping, **self.digests())

    def saw_bn(self, module, args):
        if self.trainer.training:
            self.bn_training = module.training

    def digests(self):
        return {"head": digest(self.head_params), "backbone": digest(self.backbone),
                "bn_stats": digest(self.stats)}

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        # Inside the optimizer's step: after its pre-hooks and this step's forward/backward.
        self.write(
            event="step", step=trainer.global_step, epoch=trainer.current_epoch,
            sweeping=self.sweeping, bn_training=self.bn_training,
            head_trainable=all(p.requires_grad for p in self.head_params),
            backbone_trainable=[p.requires_grad for p in self.backbone].count(True),
            groups=[{k: g.get(k) for k in ("name", "lr", "initial_lr", "max_lr")}
                    | {"size": sum(p.numel() for p in g["params"])}
                    for g in optimizer.param_groups],
        )

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        # A stop like the manager's (SIGTERM) during the step that makes global_step the
        # number in stop_at.txt: the recipe saves the loop's exact position after it.
        if os.path.exists("stop_at.txt") and not self.sweeping:
            if trainer.global_step + 1 == int(open("stop_at.txt").read()):
                os.kill(os.getpid(), signal.SIGTERM)

    def on_train_epoch_end(self, trainer, pl_module):
        if not self.sweeping:
            self.write(event="epoch_end", step=trainer.global_step,
                       epoch=trainer.current_epoch, **self.digests())
"""


def make_images(root: Path, per_class: int = 10, size: int = 32) -> None:
    """Three classes of coloured squares with a little noise, as PNG files."""
    generator = torch.Generator().manual_seed(0)
    colours = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}
    for name, colour in colours.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            noise = torch.randint(0, 40, (size, size, 3), generator=generator)
            pixels = (torch.tensor(colour) + noise).clamp(0, 255).to(torch.uint8)
            Image.fromarray(pixels.numpy()).save(root / name / f"{i:02d}.png")


def set_up(project: Path, config: str) -> str:
    (project / "custom.py").write_text(PROBE)
    make_images(project / "images")
    (project / "configs" / "ft.yaml").write_text(textwrap.dedent(config))
    return "configs/ft.yaml"


def probe(project: Path) -> list[dict]:
    lines = (project / "probe.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def group(step: dict, name: str) -> dict:
    return next(g for g in step["groups"] if g["name"] == name)


TIMM = """\
data: {_target_: image_folder, path: images, size: 32, val_fraction: 0.3}
model:
  _target_: timm.create_model
  model_name: test_efficientnet
  num_classes: ${data.num_classes}
optimizer: {_target_: adamw, lr: 0.01, backbone_lr_mult: 0.1, unfreeze_warmup_steps: 4}
scheduler: warmup_cosine
dataloader: {batch_size: 8}
trainer: {max_epochs: 4, freeze_epochs: 2, log_every_n_steps: 1}
callbacks: [{_target_: probe, head: classifier}]
"""


def test_a_timm_model_trains_its_head_then_everything_and_resumes_exactly(
    project: Path,
) -> None:
    """test_efficientnet (timm): 21 training images, 3 steps an epoch; frozen for epochs 1-2
    (steps 0-5), then the backbone at lr x 0.1, re-warmed over steps 6-9. The same run
    stopped mid-epoch while frozen (step 4) and mid-re-warm (step 9), resumed each time,
    steps with the same groups, rates and frozen parameters as the uninterrupted one."""
    config = set_up(project, TIMM)
    whole = run_recipe(["train", config, "--run-dir", "runs/whole"], project)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert (
        "freeze_epochs 2: training only model.classifier (timm's pretrained_cfg['classifier'])"
        in whole.stdout
    )
    assert "unfreezing the backbone at epoch 3; backbone lr = lr x 0.1, re-warmed over 4 steps" in (
        whole.stdout
    )
    records = probe(project)
    (project / "probe.jsonl").rename(project / "whole.jsonl")
    steps = [r for r in records if r["event"] == "step"]
    ends = [r for r in records if r["event"] == "epoch_end"]
    start = records[0]
    assert [s["step"] for s in steps] == list(range(12))

    frozen, unfrozen = steps[:6], steps[6:]
    assert all(s["epoch"] < 2 for s in frozen) and all(s["epoch"] >= 2 for s in unfrozen)
    for s in frozen:
        assert s["head_trainable"] and s["backbone_trainable"] == 0
        assert s["bn_training"] is False  # the frozen BatchNorm normalised with its statistics
    for s in unfrozen:
        assert s["head_trainable"] and s["backbone_trainable"] > 0
        assert s["bn_training"] is True
    # Frozen epochs: the head moves, the backbone and its BatchNorm statistics do not.
    assert ends[0]["head"] != start["head"] and ends[1]["head"] != ends[0]["head"]
    assert ends[0]["backbone"] == ends[1]["backbone"] == start["backbone"]
    assert ends[0]["bn_stats"] == ends[1]["bn_stats"] == start["bn_stats"]
    # After unfreezing both move.
    assert ends[2]["backbone"] != ends[1]["backbone"]
    assert ends[2]["bn_stats"] != ends[1]["bn_stats"]

    # The backbone's rate is lr x 0.1 from the start (warmup_cosine scales both groups).
    for s in steps:
        head, backbone = group(s, "head"), group(s, "backbone")
        assert head["initial_lr"] == 0.01 and backbone["initial_lr"] == pytest.approx(0.001)
        assert head["size"] + backbone["size"] == sum(g["size"] for g in s["groups"])
    # During the re-warm the backbone's rate in the step is scaled by (k+1)/(4+1).
    ratios = [group(s, "backbone")["lr"] / group(s, "head")["lr"] for s in steps]
    assert ratios[:6] == pytest.approx([0.1] * 6)
    assert ratios[6:] == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1, 0.1])

    # The same run in three pieces: stopped by SIGTERM after step 4 (frozen, mid-epoch 2),
    # then after step 8 (unfrozen, mid-epoch 3 and mid-re-warm), each resumed from last.ckpt.
    (project / "stop_at.txt").write_text("4")
    first = run_recipe(["train", config, "--run-dir", "runs/cut"], project)
    assert first.returncode == EXIT_STOPPED, first.stdout + first.stderr
    (project / "stop_at.txt").write_text("8")
    second = run_recipe(["train", "--resume", "runs/cut"], project)
    assert second.returncode == EXIT_STOPPED, second.stdout + second.stderr
    assert "unfreezing the backbone at epoch 3" in second.stdout
    (project / "stop_at.txt").unlink()
    third = run_recipe(["train", "--resume", "runs/cut"], project)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "unfreezing" not in third.stdout  # it resumed unfrozen, with the re-warm's origin
    pieces = probe(project)
    resumed_steps = [r for r in pieces if r["event"] == "step"]
    assert [s["step"] for s in resumed_steps] == list(range(12))
    keys = ("epoch", "head_trainable", "backbone_trainable", "bn_training")
    for a, b in zip(steps, resumed_steps, strict=True):
        assert {k: b[k] for k in keys} == {k: a[k] for k in keys}, b["step"]
        assert b["groups"] == pytest.approx(a["groups"]), b["step"]
    starts = [r for r in pieces if r["event"] == "train_start"]
    assert [r["step"] for r in starts] == [0, 4, 8]
    assert starts[1]["backbone"] == start["backbone"]  # still untouched when resumed frozen
    assert starts[1]["bn_stats"] == start["bn_stats"]


def test_a_torchvision_model_fine_tunes_with_onecycle(project: Path) -> None:
    """mobilenet_v3_small: its `classifier` is the head (it holds the last Linear layer);
    OneCycle's peak for the backbone's group is lr x backbone_lr_mult."""
    config = set_up(
        project,
        """\
        data: {_target_: image_folder, path: images, size: 32, val_fraction: 0.3}
        model:
          _target_: torchvision.models.mobilenet_v3_small
          num_classes: ${data.num_classes}
        optimizer: {_target_: adamw, lr: 0.004, backbone_lr_mult: 0.25}
        scheduler: onecycle
        dataloader: {batch_size: 8}
        trainer: {max_epochs: 2, freeze_epochs: 1}
        callbacks: [{_target_: probe, head: classifier}]
        """,
    )
    result = run_recipe(["train", config, "--run-dir", "runs/tv"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "training only model.classifier (the submodule holding its last Linear layer)" in (
        result.stdout
    )
    records = probe(project)
    steps = [r for r in records if r["event"] == "step"]
    ends = [r for r in records if r["event"] == "epoch_end"]
    assert [s["backbone_trainable"] == 0 for s in steps] == [True] * 3 + [False] * 3
    assert ends[0]["backbone"] == records[0]["backbone"] != ends[1]["backbone"]
    assert ends[0]["bn_stats"] == records[0]["bn_stats"] != ends[1]["bn_stats"]
    assert ends[0]["head"] != records[0]["head"]
    for s in steps:
        assert group(s, "head")["max_lr"] == 0.004
        assert group(s, "backbone")["max_lr"] == pytest.approx(0.001)
        ratio = group(s, "backbone")["lr"] / group(s, "head")["lr"]
        assert ratio == pytest.approx(0.25)


def test_the_lr_finder_sweeps_the_head_with_the_backbone_frozen(project: Path) -> None:
    """`lr: auto` with freeze_epochs: the sweep (100 steps, far past freeze_epochs' 3 steps)
    trains the head alone; training then uses the rate found for the head and that x
    backbone_lr_mult for the backbone."""
    config = set_up(
        project,
        TIMM.replace("lr: 0.01,", "lr: auto,")
        .replace(", unfreeze_warmup_steps: 4", "")
        .replace("max_epochs: 4, freeze_epochs: 2", "max_epochs: 2, freeze_epochs: 1"),
    )
    result = run_recipe(["train", config, "--run-dir", "runs/auto"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    chosen = next(r for r in read_metrics(project / "runs" / "auto") if r.get("event") == "lr_find")
    records = probe(project)
    sweep = [r for r in records if r["event"] == "forward" and r["lr_sweep"]]
    steps = [r for r in records if r["event"] == "step"]
    assert len(sweep) == chosen["sweep_steps"] > 20 and len(steps) == 6
    assert all(s["backbone_trainable"] == 0 and s["bn_training"] is False for s in sweep)
    assert [s["backbone_trainable"] == 0 for s in steps] == [True] * 3 + [False] * 3
    assert steps[0]["bn_training"] is False and steps[-1]["bn_training"] is True
    head, backbone = group(steps[0], "head"), group(steps[0], "backbone")
    assert head["initial_lr"] == pytest.approx(chosen["lr"])
    assert backbone["initial_lr"] == pytest.approx(chosen["lr"] * 0.1)
    assert "unfreezing the backbone at epoch 2" in result.stdout


def test_a_model_without_a_head_to_find_is_a_clear_error(project: Path) -> None:
    """SqueezeNet's classifier is a convolution: no Linear layer to find. The check says so
    at freeze_epochs and how to name the head; naming it trains."""
    config = set_up(
        project,
        """\
        data: {_target_: image_folder, path: images, size: 32, val_fraction: 0.3}
        model:
          _target_: torchvision.models.squeezenet1_1
          num_classes: ${data.num_classes}
        trainer:
          max_epochs: 2
          freeze_epochs: 1
        """,
    )
    result = run_recipe(["check", config], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configs/ft.yaml:7:18: found no classifier head in the model (SqueezeNet): it has no "
        "`head`, no timm classifier and no Linear layer; set trainer.head_module to the "
        "submodule that trains while the rest is frozen (its submodules: features, classifier)",
        "1 problem(s) found; nothing was trained.",
    ]
    typo = run_recipe(["check", config, "trainer.head_module=clasifier"], project)
    assert typo.returncode == 2
    assert typo.stderr.splitlines()[0] == (
        "<command line>:1:1: trainer.head_module 'clasifier': the model (SqueezeNet) has no "
        "submodule 'clasifier'; did you mean 'classifier' or 'classifier.1'? (its "
        "submodules: features, classifier); set trainer.head_module to the head that trains "
        "while frozen"
    )
    named = run_recipe(
        ["train", config, "trainer.head_module=classifier", "--run-dir", "runs/sq"], project
    )
    assert named.returncode == 0, named.stdout + named.stderr
    assert "training only model.classifier (trainer.head_module)" in named.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["optimizer.backbone_lr_mult=0"],
            "<command line>:1:1: optimizer.backbone_lr_mult must be a number above 0 (the "
            "backbone's lr is lr x this, e.g. 0.1), got 0",
        ),
        (
            ["optimizer.unfreeze_warmup_steps=half"],
            "<command line>:1:1: optimizer.unfreeze_warmup_steps must be a whole number of "
            "steps, 0 or more, got 'half'",
        ),
        (
            ["trainer.freeze_epochs=0", "optimizer.unfreeze_warmup_steps=5"],
            "<command line>:1:25: optimizer.unfreeze_warmup_steps re-warms the backbone after "
            "trainer.freeze_epochs, which is 0: set freeze_epochs or drop this key",
        ),
        (
            ["trainer.freeze_module=[stem, 3]"],
            "<command line>:1:1: trainer.freeze_module must be a submodule's name or a list of "
            "names, got ['stem', 3]",
        ),
        (
            ["trainer.freeze_module=backbone", "trainer.head_module=head"],
            "<command line>:1:32: trainer.freeze_module and trainer.head_module are both set: "
            "name either the modules to freeze or the head that trains (everything else is "
            "frozen)",
        ),
    ],
)
def test_fine_tuning_settings_are_checked(
    project: Path, overrides: list[str], message: str
) -> None:
    result = run_recipe(["check", "configs/custom_example.yaml", *overrides], project)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == message


def _torchvision(name: str, **kwargs: object) -> torch.nn.Module:
    import torchvision

    return getattr(torchvision.models, name)(num_classes=3, **kwargs)


def _small_vit() -> torch.nn.Module:
    from torchvision.models.vision_transformer import VisionTransformer

    return VisionTransformer(32, 16, num_layers=1, num_heads=2, hidden_dim=8, mlp_dim=8)


def _timm(name: str) -> torch.nn.Module:
    import timm

    return timm.create_model(name, num_classes=3)


def _builtin() -> torch.nn.Module:
    from recipe.models import SmallCNN

    return SmallCNN((3, 8, 8), 3)


def _wrapped() -> torch.nn.Module:
    inner = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    return torch.nn.ModuleDict({"net": inner})


@pytest.mark.parametrize(
    ("build", "head", "source"),
    [
        (lambda: _torchvision("resnet18"), "fc", "the submodule holding its last Linear layer"),
        (lambda: _torchvision("mobilenet_v3_small"), "classifier", "the submodule holding"),
        (lambda: _torchvision("efficientnet_b0"), "classifier", "the submodule holding"),
        (lambda: _torchvision("regnet_y_400mf"), "fc", "the submodule holding"),
        (lambda: _torchvision("shufflenet_v2_x0_5"), "fc", "the submodule holding"),
        (_small_vit, "heads", "the submodule holding"),
        (lambda: _timm("test_efficientnet"), "classifier", "timm's pretrained_cfg"),
        (lambda: _timm("resnet10t"), "fc", "timm's pretrained_cfg"),
        (lambda: _timm("test_convnext"), "head.fc", "timm's pretrained_cfg"),
        (lambda: _timm("test_vit"), "head", "timm's pretrained_cfg"),
        (_builtin, "head", "the model's `head`"),
        (_wrapped, "net.2", "the submodule holding"),
    ],
)
def test_the_head_is_the_librarys_own_classifier(
    build: Callable[[], torch.nn.Module], head: str, source: str
) -> None:
    from recipe.finetune import find_head

    names, found = find_head(build())
    assert names == (head,) and found.startswith(source)


def test_freezing_under_ddp_trains(project: Path) -> None:
    """Frozen parameters get no gradient, which plain DDP refused at the first step ("It
    looks like your LightningModule has parameters that were not used in producing the
    loss"): two CPU ranks, frozen for 2 epochs, then unfrozen."""
    result = run_recipe(
        [
            *("train", "configs/custom_example.yaml", "trainer.max_epochs=3"),
            *("trainer.strategy=ddp", "trainer.devices=2", "trainer.accelerator=cpu"),
            *("--run-dir", "r"),
        ],
        project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unfreezing the backbone at epoch 3" in result.stdout
    assert read_metrics(project / "r")[-1]["status"] == "completed"


PLAIN_BN = """
@register("plain_bn")
def plain_bn(num_outputs: int) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4, affine=False),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 14 * 14, num_outputs),
    )
"""


def plain_bn_project(project: Path, trainer: str, optimizer: str = "adamw") -> str:
    config = set_up(
        project,
        f"""\
        data: {{_target_: image_folder, path: images, size: 16, val_fraction: 0.3}}
        model: {{_target_: plain_bn}}
        optimizer: {optimizer}
        dataloader: {{batch_size: 8}}
        trainer: {trainer}
        callbacks: [{{_target_: probe, head: "3"}}]
        """,
    )
    with (project / "custom.py").open("a") as custom:
        custom.write(PLAIN_BN)
    return config


def test_batchnorm_statistics_without_affine_parameters_stay_frozen(project: Path) -> None:
    """A BatchNorm with no weight or bias still has running statistics to keep."""
    config = plain_bn_project(project, "{max_epochs: 2, freeze_epochs: 1}")
    result = run_recipe(["train", config, "--run-dir", "runs/bn"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "training only model.3 (the submodule holding its last Linear layer)" in result.stdout
    records = probe(project)
    ends = [r for r in records if r["event"] == "epoch_end"]
    steps = [r for r in records if r["event"] == "step"]
    assert ends[0]["bn_stats"] == records[0]["bn_stats"] != ends[1]["bn_stats"]
    assert [s["bn_training"] for s in steps] == [False] * 3 + [True] * 3


def test_a_backbone_rate_without_freezing(project: Path) -> None:
    """`backbone_lr_mult` alone: the two groups from the first step, nothing frozen."""
    config = plain_bn_project(
        project, "{max_epochs: 1}", "{_target_: sgd, lr: 0.05, backbone_lr_mult: 0.2}"
    )
    result = run_recipe(["train", config, "--run-dir", "runs/mult"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "freeze_epochs" not in result.stdout
    steps = [r for r in probe(project) if r["event"] == "step"]
    assert len(steps) == 3
    for s in steps:
        assert s["backbone_trainable"] == 2 and s["bn_training"] is True  # the conv weight, bias
        assert group(s, "head")["lr"] == 0.05 and group(s, "backbone")["lr"] == 0.2 * 0.05
        assert [g["size"] for g in s["groups"]] == [3 * 4 * 14 * 14 + 3, 4 * 3 * 3 * 3 + 4]
