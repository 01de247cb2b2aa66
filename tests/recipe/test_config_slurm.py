"""The `slurm:` section: each bad value named at its line and column with the fix, a typo'd
key with its did-you-mean, and the values the run manager gets with every default filled."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from recipe.config import check_text, load_config, slurm_options
from tests.helpers import run_recipe

HEAD = "data: {_target_: digits}\nmodel: {_target_: mlp}\n"


def problems(body: str) -> list[str]:
    text = HEAD + textwrap.dedent(body)
    return [str(p) for p in check_text(text, "c.yaml", project_dir="/nonexistent")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'time: "1:30"',
            "c.yaml:4:9: slurm.time '1:30' is ambiguous: SLURM reads 'M:SS' (1 min 30 s), "
            "not hours; write minutes (e.g. 90), 'HH:MM:SS' ('01:30:00'), 'D-HH', 'D-HH:MM' "
            "or 'D-HH:MM:SS'",
        ),
        (
            "time: 2 hours",
            "c.yaml:4:9: slurm.time '2 hours' is not a time limit; write minutes (e.g. 90), "
            "'HH:MM:SS' ('01:30:00'), 'D-HH', 'D-HH:MM' or 'D-HH:MM:SS'",
        ),
        (
            'time: "1:75:00"',
            "c.yaml:4:9: slurm.time '1:75:00' has minutes or seconds over 59; write them as 00-59",
        ),
        (
            'time: "1-30"',
            "c.yaml:4:9: slurm.time '1-30' has 30 hours after the day; write the hours as 00-23",
        ),
        (
            "time: 0",
            "c.yaml:4:9: slurm.time 0 must be at least 1 minute; null means the partition's",
        ),
        (
            "mem: 32GB",
            "c.yaml:4:8: slurm.mem '32GB' is not a memory size; write a whole number with K, M, "
            "G or T (e.g. '32G', '500M'), or a whole number of megabytes",
        ),
        (
            "mem: -5",
            "c.yaml:4:8: slurm.mem -5 is not a memory size; write a whole number with "
            "K, M, G or T (e.g. '32G', '500M'), or a whole number of megabytes",
        ),
        (
            'extra: ["--gres gpu:1"]',
            "c.yaml:4:11: slurm.extra[0] '--gres gpu:1' must be one word: write '--gres=gpu:1'",
        ),
        (
            "extra: [constraint=a100]",
            "c.yaml:4:11: slurm.extra[0] 'constraint=a100' is not an sbatch option; write "
            "'--name' or '--name=value' (e.g. --constraint=a100)",
        ),
        (
            'extra: ["--output=x.log"]',
            "c.yaml:4:11: slurm.extra[0] '--output=x.log' is set by the batch script: the job "
            "writes the run's stdout.log",
        ),
        (
            'extra: ["--time=60"]',
            "c.yaml:4:11: slurm.extra[0] '--time=60' is set by the batch script: use slurm.time",
        ),
        ("extra: [7]", "c.yaml:4:11: slurm.extra[0] must be a string (an sbatch option), got 7"),
        (
            'extra: ["--comment=a\\nrm -rf ~"]',
            "c.yaml:4:11: slurm.extra[0] '--comment=a\\nrm -rf ~' holds a line break; write one "
            "option per item",
        ),
        (
            'setup: ["module load cuda", "echo a\\necho b"]',
            "c.yaml:4:31: slurm.setup[1] holds a line break; write one shell line per item",
        ),
        (
            'partition: "gpu\\nrm -rf ~"',
            "c.yaml:4:14: slurm.partition 'gpu\\nrm -rf ~' must be one word (no spaces or line "
            "breaks)",
        ),
        (
            'account: "my lab"',
            "c.yaml:4:12: slurm.account 'my lab' must be one word (no spaces or line breaks)",
        ),
        (
            "signal_before_s: 70000",
            "c.yaml:4:20: slurm.signal_before_s must be 0 to 65535, got 70000",
        ),
        (
            "cpus_per_task: 0",
            "c.yaml:4:18: slurm.cpus_per_task must be at least 1 (or null), got 0",
        ),
        (
            "requeue: maybe",
            "c.yaml:4:12: 'slurm.requeue' must be true or false, got 'maybe' (a string)",
        ),
    ],
)
def test_a_bad_value_is_one_line_at_its_position_with_the_fix(line: str, message: str) -> None:
    assert problems(f"slurm:\n  {line}\n") == [message]


def test_a_misspelt_key_gets_a_did_you_mean_at_the_key() -> None:
    assert problems("slurm:\n  partiton: gpu\n  signal_before: 60\n") == [
        "c.yaml:4:3: unknown key 'slurm.partiton'; did you mean 'partition'?",
        "c.yaml:5:3: unknown key 'slurm.signal_before'; did you mean 'signal_before_s'?",
    ]


def test_nodes_that_disagree_with_trainer_num_nodes_name_both() -> None:
    assert problems("trainer: {num_nodes: 4}\nslurm: {nodes: 2}\n") == [
        "c.yaml:4:16: slurm.nodes 2 disagrees with trainer.num_nodes 4; drop slurm.nodes (it "
        "follows trainer.num_nodes) or make them equal"
    ]
    # trainer.num_nodes 1 is the default: slurm.nodes may say more, or the same.
    assert problems("slurm: {nodes: 2}\n") == []
    assert problems("trainer: {num_nodes: 4}\nslurm: {nodes: 4}\n") == []


def test_a_warning_no_shorter_than_the_time_limit_is_refused() -> None:
    assert problems("slurm: {time: 1, signal_before_s: 60}\n") == [
        "c.yaml:3:35: slurm.signal_before_s 60 is not shorter than slurm.time (1 min): the "
        "warning would come before training; lower it"
    ]
    assert problems("slurm: {time: 2, signal_before_s: 60}\n") == []


GOOD = """\
data: {_target_: digits}
model: {_target_: mlp, hidden: [16]}
dataloader: {num_workers: 3}
trainer: {accelerator: gpu, devices: 2}
slurm:
  partition: gpu
  time: "1-12:30"          # a day and a half, thirty minutes
  mem: 32g
  account: lab
  signal_before_s: 120
  setup: ["module load cuda/12.1", "source ~/venv/bin/activate"]
  extra: ["--constraint=a100", "--exclusive"]
"""


def test_a_good_section_passes_recipe_check_and_is_printed_resolved(project: Path) -> None:
    (project / "configs" / "s.yaml").write_text(GOOD)
    result = run_recipe(["check", "configs/s.yaml", "slurm.qos=high"], project)
    assert result.returncode == 0, result.stderr
    printed = result.stdout[result.stdout.index("slurm:") :]
    assert printed.splitlines() == [
        "slurm:",
        "  partition: gpu",
        "  time: 1-12:30",
        "  gpus_per_node: null",
        "  cpus_per_task: null",
        "  mem: 32g",
        "  nodes: null",
        "  account: lab",
        "  qos: high",
        "  signal_before_s: 120",
        "  requeue: true",
        "  setup: [module load cuda/12.1, source ~/venv/bin/activate]",
        "  extra: [--constraint=a100, --exclusive]",
    ]


def test_slurm_options_fills_every_default_from_the_rest_of_the_config(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD)
    assert slurm_options(load_config(str(path), project_dir=str(tmp_path)).data) == {
        "partition": "gpu",
        "time": "1-12:30",
        "time_minutes": 36 * 60 + 30,
        "nodes": 1,  # trainer.num_nodes
        "ntasks_per_node": 2,  # trainer.devices
        "gpus_per_node": 2,  # trainer.devices, on a GPU accelerator
        "cpus_per_task": 4,  # dataloader.num_workers + 1
        "mem": "32G",
        "account": "lab",
        "qos": None,
        "signal_before_s": 120,
        "requeue": True,
        "setup": ["module load cuda/12.1", "source ~/venv/bin/activate"],
        "extra": ["--constraint=a100", "--exclusive"],
    }


def test_slurm_options_of_a_config_without_the_section() -> None:
    path = Path(__file__).resolve().parents[2] / "configs" / "digits.yaml"
    options = slurm_options(load_config(str(path), ["slurm.mem=500", "slurm.time=90"]).data)
    assert options == {
        "partition": None,
        "time": "90",
        "time_minutes": 90,
        "nodes": 1,
        "ntasks_per_node": 1,  # devices auto on a CPU: one rank
        "gpus_per_node": None,  # accelerator auto: no GPU asked for
        "cpus_per_task": 1,
        "mem": "500M",
        "account": None,
        "qos": None,
        "signal_before_s": 90,
        "requeue": True,
        "setup": [],
        "extra": [],
    }
