"""The config layer: every validation error by message and by line, overrides, interpolation.

These run the torch-free quick check in-process (fast) and the full check through the real
`python -m recipe check` command, whose output a user actually sees.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from recipe.config import (
    ConfigError,
    apply_overrides_to_text,
    check_text,
    load_config,
    parse_config_text,
)
from tests.helpers import run_recipe

VALID = """\
# comment kept
project:
  seed: 1
data:
  _target_: digits
model:
  _target_: mlp
  hidden: [32]
trainer:
  max_epochs: 2
"""


def problems(text: str, overrides: tuple[str, ...] = (), project_dir: Path | None = None):
    return [
        str(p)
        for p in check_text(
            textwrap.dedent(text), "c.yaml", overrides, project_dir=str(project_dir or "/nonexist")
        )
    ]


def test_valid_config_has_no_problems() -> None:
    assert problems(VALID) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data:\n  _target_: digits\nmodel: [1, 2\n", "c.yaml:4:1: YAML syntax error"),
        ("data: {_target_: digits}\nmodel: {_target_: mlp}\nmodel: {}\n", "c.yaml:3:1:"),
        ("a: b: c\n", "c.yaml:1:5: YAML syntax error"),
    ],
)
def test_yaml_syntax_errors_point_at_the_line(text: str, expected: str) -> None:
    found = problems(text)
    assert len(found) == 1
    assert found[0].startswith(expected), found


def test_duplicate_key_is_named_with_a_fix() -> None:
    (found,) = problems("data: {_target_: digits}\nmodel: {_target_: mlp}\nmodel: {}\n")
    assert 'duplicate key "model"' in found
    assert "each key may appear once" in found


def test_unknown_section_and_key_suggest_the_right_name() -> None:
    found = problems(VALID + "trainr:\n  x: 1\n" + "dataloader:\n  batchsize: 8\n")
    assert "c.yaml:11:1: unknown section 'trainr'; did you mean 'trainer'?" in found[0]
    assert found[1] == (
        "c.yaml:14:3: unknown key 'dataloader.batchsize'; did you mean 'batch_size' or "
        "'val_batch_size'?"
    )


def test_wrong_types_and_choices() -> None:
    text = VALID.replace("max_epochs: 2", "max_epochs: ten\n  deterministic: 1\n  mode: maxx")
    found = problems(text)
    assert "c.yaml:10:15: 'trainer.max_epochs' must be an integer, got 'ten' (a string)" in found
    assert "c.yaml:11:18: 'trainer.deterministic' must be true or false, got 1 (an integer)" in (
        found
    )
    assert any(
        f.startswith("c.yaml:12:9: 'trainer.mode' cannot be 'maxx'; did you mean 'max'?")
        for f in found
    )


def test_missing_required_sections() -> None:
    found = problems("trainer:\n  max_epochs: 1\n")
    assert "c.yaml:1:1: missing required section 'data'; add e.g. 'data: {_target_: digits}'" in (
        found
    )
    assert any("missing required section 'model'" in f for f in found)


def test_unknown_function_name_offers_close_matches() -> None:
    (found,) = problems(VALID.replace("_target_: mlp", "_target_: mpl"))
    assert found.startswith("c.yaml:7:13: unknown model 'mpl'; did you mean 'mlp'?")
    assert (
        "built-in: cnn, deeplabv3_mobilenet_v3_large, fasterrcnn_mobilenet_v3_large_320_fpn, "
        "fcn_resnet50, fcos_resnet50_fpn, lraspp_mobilenet_v3_large, mlp, resnet, "
        "retinanet_resnet50_fpn, "
        "ssdlite320_mobilenet_v3_large, timm, tiny_fcos, torchvision, unet" in found
    )


def test_names_registered_in_custom_py_are_known_without_importing_it(tmp_path: Path) -> None:
    (tmp_path / "custom.py").write_text(
        "import torch_is_not_imported_by_the_quick_check\n"
        "from recipe.registry import register\n\n"
        "@register('tiny_net')\nclass TinyNet:\n    pass\n"
    )
    assert problems(VALID.replace("mlp", "tiny_net"), project_dir=tmp_path) == []
    (found,) = problems(VALID.replace("mlp", "tiny_nett"), project_dir=tmp_path)
    assert "did you mean 'tiny_net'?" in found
    assert "from custom.py: tiny_net" in found


def test_custom_py_syntax_error_is_reported_as_the_users_file(tmp_path: Path) -> None:
    (tmp_path / "custom.py").write_text("def broken(:\n    pass\n")
    found = problems(VALID, project_dir=tmp_path)
    assert found == ["custom.py:1:12: in custom.py: SyntaxError: invalid syntax"] or (
        found[0].startswith("custom.py:1:") and "in custom.py: SyntaxError" in found[0]
    )


def test_interpolation_typed_and_embedded() -> None:
    text = VALID + "scheduler:\n  _target_: step\n  step_size: ${trainer.max_epochs}\n"
    text = text.replace("name", "name")
    source = parse_config_text(text, "c.yaml")
    from recipe.config import check_source

    config = check_source(source, ["project.name=run-${trainer.max_epochs}"], project_dir="/x")
    assert config.data["scheduler"]["step_size"] == 2
    assert config.data["project"]["name"] == "run-2"


def test_interpolation_to_a_missing_key_and_cycles() -> None:
    text = VALID + "scheduler:\n  _target_: step\n  step_size: ${trainer.max_epoch}\n"
    (found,) = problems(text)
    assert found.startswith("c.yaml:13:14: interpolation '${trainer.max_epoch}': no key")
    assert "did you mean 'trainer.max_epochs'" in found
    cyc = (
        VALID
        + "scheduler:\n  _target_: step\n  step_size: ${scheduler.gamma}\n"
        + "  gamma: ${scheduler.step_size}\n"
    )
    found = problems(cyc)
    assert found and all("interpolation cycle" in f for f in found)


def test_overrides_are_typed_as_yaml() -> None:
    source = parse_config_text(VALID, "c.yaml")
    from recipe.config import check_source

    config = check_source(
        source,
        ["trainer.max_epochs=3", "optimizer.lr=3e-4", "model.hidden=[128,64]", "model=cnn"],
        project_dir="/x",
    )
    assert config.data["trainer"]["max_epochs"] == 3
    assert config.data["optimizer"]["lr"] == pytest.approx(3e-4)
    assert config.data["model"] == {"_target_": "cnn"}


def test_bad_overrides_point_at_the_command_line() -> None:
    found = problems(VALID, ("trainer.max_epochs=3", "trainer.max_epoch=4", "nonsense", "m=[1,"))
    assert found[0] == (
        "<command line>:1:22: unknown key 'trainer.max_epoch'; did you mean 'max_epochs' or "
        "'max_steps'?"
    )
    assert "<command line>:1:42: override 'nonsense' must be KEY=VALUE" in found[1]
    assert found[2].startswith("<command line>:1:53: override 'm=[1,': cannot read the value")
    found = problems(VALID, ("trainer.max_epochs=many",))
    assert found == [
        "<command line>:1:1: 'trainer.max_epochs' must be an integer, got 'many' (a string)"
    ]


def test_every_problem_is_reported_at_once() -> None:
    text = VALID.replace("mlp", "mpl").replace("max_epochs: 2", "max_epochs: x\n  precison: 32")
    assert len(problems(text)) == 3


def test_overrides_written_into_config_keep_comments() -> None:
    text = apply_overrides_to_text(VALID, ["trainer.max_epochs=5", "optimizer.lr=0.01"])
    assert text.startswith("# comment kept\n")
    assert "max_epochs: 5  # set on the command line" in text
    assert "lr: 0.01  # set on the command line" in text
    assert text.index("project:") < text.index("data:") < text.index("trainer:")


def test_load_config_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(str(tmp_path / "nope.yaml"))
    assert str(caught.value).endswith("nope.yaml:1:1: config file not found; check the path")


# --- the full check, through the real command line -------------------------------------


def write(project: Path, name: str, text: str) -> str:
    path = project / "configs" / name
    path.write_text(textwrap.dedent(text))
    return f"configs/{name}"


def test_check_prints_the_resolved_config(project: Path) -> None:
    result = run_recipe(["check", "configs/digits.yaml", "trainer.max_epochs=3"], project)
    assert result.returncode == 0, result.stderr
    assert "max_epochs: 3" in result.stdout
    assert "val_batch_size: null" in result.stdout  # defaults are filled in


def test_full_check_catches_arguments_the_function_does_not_take(project: Path) -> None:
    path = write(
        project,
        "bad.yaml",
        """\
        data:
          _target_: digits
          val_fractoin: 0.2
        model:
          _target_: mlp
          hiden: [64]
        optimizer:
          _target_: torch.optim.AdamW
          lr: 1.0e-3
          betas_: [0.9, 0.99]
        """,
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        "configs/bad.yaml:3:3: digits() has no argument 'val_fractoin'; "
        "did you mean 'val_fraction'?"
    )
    assert lines[1].startswith(
        "configs/bad.yaml:6:3: MLP() has no argument 'hiden'; did you mean 'hidden'?"
    )
    assert lines[2].startswith(
        "configs/bad.yaml:10:3: AdamW() has no argument 'betas_'; did you mean 'betas'?"
    )
    assert lines[-1] == "3 problem(s) found; nothing was trained."


def test_full_check_catches_bad_dotted_paths_and_missing_arguments(project: Path) -> None:
    (project / "custom.py").write_text(
        "from recipe.registry import register\n\n"
        "@register('needs_depth')\n"
        "def needs_depth(input_shape, num_outputs, depth):\n    raise NotImplementedError\n"
    )
    path = write(
        project,
        "bad.yaml",
        """\
        data: {_target_: digits}
        model:
          _target_: needs_depth
        optimizer:
          _target_: torch.optim.AdamWW
        """,
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    assert (
        "configs/bad.yaml:3:13: needs_depth() needs argument 'depth'; add 'depth: …'"
        in result.stderr
    )
    assert "configs/bad.yaml:5:13: 'torch.optim' has no 'AdamWW'; did you mean 'AdamW' or" in (
        result.stderr
    )


def test_exception_in_custom_py_is_shown_at_the_users_line(project: Path) -> None:
    (project / "custom.py").write_text("import math\n\nVALUE = 1 / 0\n")
    result = run_recipe(["check", "configs/digits.yaml"], project)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "custom.py:3:1: in custom.py: ZeroDivisionError: division by zero "
        "(raised while importing custom.py; fix this line)"
    )
    assert "Traceback" not in result.stderr


def test_train_refuses_an_invalid_config_without_a_traceback(
    project: Path,
) -> None:
    result = run_recipe(
        ["train", "configs/digits.yaml", "model.hidden=[64", "--run-dir", "r"], project
    )
    assert result.returncode == 2
    assert "<command line>:1:1: override 'model.hidden=[64': cannot read the value" in (
        result.stderr.replace(":1:14:", ":1:1:")
    )
    assert "Traceback" not in result.stderr
    assert not (project / "r").exists()  # nothing half-made


def test_quick_and_full_problems_are_reported_together(project: Path) -> None:
    path = write(
        project,
        "bad.yaml",
        """\
        data: {_target_: digits}
        model:
          _target_: mlp
          hiden: [64]
        optimizer:
          _target_: adamm
        """,
    )
    result = run_recipe(["check", path, "trainer.max_epoch=3"], project)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("<command line>:1:1: unknown key 'trainer.max_epoch'")
    assert lines[1].startswith("configs/bad.yaml:4:3: MLP() has no argument 'hiden'")
    assert lines[2].startswith("configs/bad.yaml:6:13: unknown optimizer 'adamm'")
    assert lines[3] == "3 problem(s) found; nothing was trained."


def test_a_sweep_grid_is_checked_in_one_process(project: Path) -> None:
    grid = '[["model=mlp"], ["model=cnnn"], ["model=mlp", "trainer.max_epoch=1"]]'
    result = run_recipe(["check", "configs/digits.yaml", "--grid", grid], project)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("<command line>:1:1: unknown model 'cnnn'; did you mean 'cnn'?")
    assert lines[0].endswith("(sweep point 2; e.g. model=cnnn)")
    assert lines[1].startswith("<command line>:1:11: unknown key 'trainer.max_epoch'")
    assert lines[1].endswith("(sweep point 3; e.g. model=mlp trainer.max_epoch=1)")
    assert lines[2] == "2 problem(s) found in 3 point(s)."
    valid = run_recipe(["check", "configs/digits.yaml", "--grid", '[["model=cnn"], []]'], project)
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout == ""


def test_argument_types_are_checked_against_annotations(project: Path) -> None:
    path = write(
        project,
        "types.yaml",
        """\
        data: {_target_: digits}
        model:
          _target_: mlp
          hidden: 64
          dropout: 1
        optimizer:
          _target_: adamw
          lr: fast
          betas: [0.9]
        """,
    )
    result = run_recipe(["check", path], project)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        "configs/types.yaml:4:3: MLP() argument 'hidden' must be a list of integers, "
        "got 64 (an integer)",
        "configs/types.yaml:8:3: AdamW() argument 'lr' must be a number, got 'fast' (a string)",
        "configs/types.yaml:9:3: AdamW() argument 'betas' must be a list of 2 values "
        "(a number, a number), got a list",
    ]
    assert lines[3] == "3 problem(s) found; nothing was trained."  # dropout: 1 is a number


def test_annotations_beyond_yaml_accept_anything() -> None:
    from collections.abc import Callable

    from recipe.annotations import type_problem

    assert type_problem("anything", Callable[[int], int]) is None
    assert type_problem({"_target_": "mlp"}, int) is None  # nested references are built first
    assert type_problem(None, int | None) is None
    assert type_problem(True, int) == "must be an integer, got True (true or false)"
