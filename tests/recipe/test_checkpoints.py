"""Checkpoints: last.ckpt always holds the run's latest epoch end and final step, and a save
streams to disk instead of building the file in memory first. Real runs, real files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import read_metrics, recipe_env, run_recipe

SAVE_A_BIG_CHECKPOINT = textwrap.dedent(
    """
    import json, resource, sys, torch
    from recipe.callbacks import AtomicCheckpointIO

    weights = torch.ones(40 * 1024 * 1024)  # 160 MiB, every page touched
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": weights}}, sys.argv[1])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"size": weights.numel() * 4, "extra_peak": after - before}))
    """
)


def test_a_checkpoint_save_streams_to_disk(tmp_path: Path) -> None:
    """The peak memory of a save stays far below the checkpoint's size (it was twice it:
    the whole file in a BytesIO, then a copy of it), and the file loads back whole."""
    target = tmp_path / "checkpoints" / "big.ckpt"
    result = subprocess.run(
        [sys.executable, "-c", SAVE_A_BIG_CHECKPOINT, str(target)],
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["extra_peak"] < figures["size"] / 4, figures
    import torch

    loaded = torch.load(target, weights_only=True)
    assert loaded["state_dict"]["w"].numel() == 40 * 1024 * 1024
    assert [p.name for p in target.parent.iterdir()] == ["big.ckpt"]  # no temp file left


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_checkpoints_follow_the_users_umask(tmp_path: Path, umask: int) -> None:
    """A teammate's UI on a shared project reads checkpoints like the logs beside them
    (they were 0600 whatever the umask)."""
    target = tmp_path / "c.ckpt"
    script = (
        "import os, sys, torch\n"
        f"os.umask({umask})\n"
        "from recipe.callbacks import AtomicCheckpointIO\n"
        "AtomicCheckpointIO().save_checkpoint({'w': torch.ones(3)}, sys.argv[1])\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(target)], env=recipe_env(), check=True, timeout=120
    )
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~umask


def last_step(run_dir: Path) -> int:
    import torch

    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    return int(state["global_step"])


@pytest.mark.parametrize(
    "overrides",
    [
        # val/loss falls, so with mode=max it never improves after the first epoch
        ["trainer.monitor=val/loss", "trainer.mode=max", "trainer.max_epochs=3"],
        # validation every other epoch: the last epoch has none
        ["trainer.check_val_every_n_epoch=2", "trainer.max_epochs=3"],
        # training ends mid-epoch (23 steps an epoch)
        ["trainer.max_steps=30", "trainer.max_epochs=3"],
    ],
    ids=["monitor-never-improves", "no-validation-at-the-end", "max-steps-mid-epoch"],
)
def test_last_checkpoint_holds_the_final_step(project: Path, overrides: list[str]) -> None:
    result = run_recipe(["train", "configs/digits.yaml", *overrides, "--run-dir", "r"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    records = read_metrics(project / "r")
    assert records[-1]["event"] == "end" and records[-1]["status"] == "completed"
    assert last_step(project / "r") == records[-1]["step"] > 23


EPOCH_PROBE = '''

import json, pathlib
import pytorch_lightning as pl


@register("last_probe")
class LastProbe(pl.Callback):
    """At each epoch start (every end hook of the epoch before has run): last.ckpt's step."""

    def on_train_epoch_start(self, trainer, pl_module):
        path = pathlib.Path(trainer.default_root_dir, "checkpoints", "last.ckpt")
        saved = torch.load(path, weights_only=False)["global_step"] if path.exists() else None
        with open("probe.jsonl", "a") as out:
            out.write(json.dumps({"step": trainer.global_step, "last": saved}) + "\\n")
'''


def test_last_checkpoint_holds_the_end_of_every_epoch(project: Path) -> None:
    """What a crash or a kill at any epoch boundary would resume from: the epoch just ended."""
    with (project / "custom.py").open("a") as custom:
        custom.write(EPOCH_PROBE)
    result = run_recipe(
        [
            "train",
            "configs/digits.yaml",
            "trainer.monitor=val/loss",
            "trainer.mode=max",
            "trainer.max_epochs=4",
            "callbacks=[last_probe]",
            "--run-dir",
            "r",
        ],
        project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    probes = [json.loads(line) for line in (project / "probe.jsonl").read_text().splitlines()]
    assert probes == [
        {"step": 0, "last": None},
        {"step": 23, "last": 23},
        {"step": 46, "last": 46},
        {"step": 69, "last": 69},
    ]


LINK_PROBE = '''

import json, os, pathlib
import pytorch_lightning as pl


@register("link_probe")
class LinkProbe(pl.Callback):
    """At each epoch start: last.ckpt's and best.ckpt's steps, and whether they are one file."""

    def on_train_epoch_start(self, trainer, pl_module):
        folder = pathlib.Path(trainer.default_root_dir, "checkpoints")
        if not (folder / "last.ckpt").exists():
            return
        step = {n: torch.load(folder / n, weights_only=False)["global_step"]
                for n in ("last.ckpt", "best.ckpt")}
        same = os.path.samefile(folder / "last.ckpt", folder / "best.ckpt")
        with open("probe.jsonl", "a") as out:
            out.write(json.dumps({"last": step["last.ckpt"], "best": step["best.ckpt"],
                                  "one file": same}) + "\\n")
'''


def test_an_improving_epoch_writes_its_checkpoint_once(project: Path) -> None:
    """best.ckpt and last.ckpt of the same step are one file (a hard link), not two 134 MB
    writes; the next epoch's last.ckpt replaces that name alone, best.ckpt stays as it was."""
    with (project / "custom.py").open("a") as custom:
        custom.write(LINK_PROBE)
    result = run_recipe(
        [
            "train",
            "configs/digits.yaml",
            "trainer.monitor=val/loss",
            "trainer.mode=max",  # val/loss falls: only the first epoch improves
            "trainer.max_epochs=3",
            "callbacks=[link_probe]",
            "--run-dir",
            "r",
        ],
        project,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    probes = [json.loads(line) for line in (project / "probe.jsonl").read_text().splitlines()]
    assert probes == [
        {"last": 23, "best": 23, "one file": True},
        {"last": 46, "best": 23, "one file": False},
    ]
    resumed = run_recipe(["train", "--resume", "r", "trainer.max_epochs=4"], project)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert last_step(project / "r") == 92
