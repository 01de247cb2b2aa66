"""`optimizer.lr: auto`: the sweep is not bounded by the run's length, a degenerate
suggestion falls back to the optimizer's default with one warning, and no progress bar
lands in the log. Real sweeps on the digits data."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import read_metrics, run_recipe


def lr_events(run_dir: Path) -> list[dict]:
    return [r for r in read_metrics(run_dir) if r.get("event") == "lr_find"]


def final_accuracy(run_dir: Path) -> float:
    return [r for r in read_metrics(run_dir) if "val/acc" in r.get("metrics", {})][-1]["metrics"][
        "val/acc"
    ]


def test_a_one_epoch_run_gets_a_full_sweep_and_a_useful_rate(project: Path) -> None:
    """It swept 23 steps (one epoch), chose 5.75e-7 and ended at 0.139 accuracy."""
    result = run_recipe(
        [
            *("train", "configs/digits.yaml", "trainer.max_epochs=1", "optimizer.lr=auto"),
            *("--run-dir", "r"),
        ],
        project,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    (event,) = lr_events(project / "r")
    assert event["sweep_steps"] > 23 and event["problem"] is None, event
    assert 1e-4 <= event["lr"] <= 1e-1, event
    assert final_accuracy(project / "r") >= 0.8
    assert "Finding best initial lr" not in output  # the finder's bar, in a log file
    assert ".lr_find_" not in output  # nor its temporary checkpoint's bookkeeping


DIVERGING_UNTIL_TRAINING = """

import pytorch_lightning as pl

_SWEEPING = [True]


@register("diverging_loss")
class DivergingLoss(nn.Module):
    \"\"\"Explodes while the learning-rate finder sweeps: its sweep stops after a few steps.\"\"\"

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, outputs, targets):
        loss = nn.functional.cross_entropy(outputs, targets)
        self.calls += 1
        return loss * 10.0 ** min(self.calls, 30) if _SWEEPING[0] else loss


@register("sweep_over")
class SweepOver(pl.Callback):
    def on_train_start(self, trainer, pl_module):
        _SWEEPING[0] = False
"""


def test_a_degenerate_suggestion_falls_back_to_the_default_with_one_warning(
    project: Path,
) -> None:
    with (project / "custom.py").open("a") as custom:
        custom.write(DIVERGING_UNTIL_TRAINING)
    result = run_recipe(
        [
            "train",
            "configs/digits.yaml",
            "trainer.max_epochs=2",
            "optimizer.lr=auto",
            "loss=diverging_loss",
            "callbacks=[sweep_over]",
            "--run-dir",
            "r",
        ],
        project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = [line for line in result.stderr.splitlines() if "learning-rate finder" in line]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("warning: learning-rate finder: the sweep stopped after")
    assert "lr = 0.001 (adamw's default)" in warnings[0]
    (event,) = lr_events(project / "r")
    assert event["lr"] == 0.001 and event["problem"].startswith("the sweep stopped after")
    assert final_accuracy(project / "r") >= 0.8


def test_the_suggestion_is_where_the_loss_falls_not_where_noise_does(project: Path) -> None:
    """Lightning's suggestion (the steepest slope against lr, point to point) chose 1.45e-6
    on the wine example, where the loss was still flat: 0.40 accuracy after the run.
    (The example freezes its backbone for 2 epochs: the sweep finds the head's rate, and
    the backbone trains at a tenth of it once unfrozen.)"""
    result = run_recipe(
        [
            *("train", "configs/custom_example.yaml", "trainer.max_epochs=3"),
            *("optimizer.lr=auto", "optimizer.backbone_lr_mult=0.1", "--run-dir", "r"),
        ],
        project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (event,) = lr_events(project / "r")
    assert event["problem"] is None and 1e-4 <= event["lr"] <= 1e-1, event
    assert final_accuracy(project / "r") >= 0.9


def test_a_suggestion_at_the_edge_of_the_sweep_is_not_used(project: Path) -> None:
    """The small CNN's loss only starts to fall near the sweep's top rate (1.0): the fall
    may be steeper still beyond it, so the rate is no suggestion. (Which seed shows it
    depends on the split: on scikit-learn's, seed 2 does; seeds 0, 1, 3 find 0.23-0.33.)"""
    result = run_recipe(
        [
            *("train", "configs/digits_cnn.yaml", "trainer.max_epochs=1", "project.seed=2"),
            *("optimizer.lr=auto", "--run-dir", "r"),
        ],
        project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (event,) = lr_events(project / "r")
    assert "at the high edge of the sweep" in event["problem"], event
    assert event["lr"] == 0.001
    assert "is at the high edge of the sweep; training with lr = 0.001" in result.stderr
