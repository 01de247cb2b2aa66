"""Config problems are told in the user's terms: no internal type names, one report per
mistake, the place and the fix — for the mistakes that used to mislead."""

from __future__ import annotations

import textwrap
from pathlib import Path

from recipe.config import check_text
from tests.helpers import run_recipe


def problems(text: str) -> list[str]:
    found = check_text(textwrap.dedent(text), "c.yaml", project_dir="/nonexistent")
    return [str(p) for p in found]


def test_a_failed_interpolation_is_reported_once_in_the_users_terms(project: Path) -> None:
    (project / "configs" / "u.yaml").write_text(
        textwrap.dedent(
            """\
            data: {_target_: digits}
            model: {_target_: mlp, hidden: [32]}
            optimizer: {_target_: adamw, lr: "${optimizer.rate}"}
            scheduler:
              _target_: step
              step_size: ${scheduler.gamma}
              gamma: ${scheduler.step_size}
            """
        )
    )
    result = run_recipe(["check", "configs/u.yaml"], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configs/u.yaml:3:34: interpolation '${optimizer.rate}': no key 'optimizer.rate'; "
        "did you mean 'optimizer.lr' or 'optimizer._target_'?",
        "configs/u.yaml:6:14: interpolation cycle: scheduler.step_size -> scheduler.gamma -> "
        "scheduler.step_size; give one of them a value instead of a ${…}",
        "2 problem(s) found; nothing was trained.",
    ]


def test_each_interpolation_cycle_is_reported_once() -> None:
    found = problems(
        """\
        data: {_target_: digits}
        model: {_target_: mlp}
        trainer:
          max_epochs: ${trainer.max_steps}
          max_steps: ${trainer.log_every_n_steps}
          log_every_n_steps: ${trainer.max_epochs}
          freeze_epochs: ${trainer.freeze_epochs}
          monitor: "${trainer.mode}"
          mode: "${trainer.monitor}"
        """
    )
    assert found == [
        "c.yaml:4:15: interpolation cycle: trainer.max_epochs -> trainer.max_steps -> "
        "trainer.log_every_n_steps -> trainer.max_epochs; give one of them a value instead "
        "of a ${…}",
        "c.yaml:7:18: interpolation cycle: trainer.freeze_epochs -> trainer.freeze_epochs; "
        "give one of them a value instead of a ${…}",
        "c.yaml:8:12: interpolation cycle: trainer.monitor -> trainer.mode -> trainer.monitor; "
        "give one of them a value instead of a ${…}",
    ]


def test_a_non_ascii_look_alike_is_named_with_its_column_not_suggested_back() -> None:
    # A Cyrillic 'а' (U+0430) in a key, a Cyrillic 'р' (U+0440) in a name, a Greek 'ο'.
    found = problems(
        """\
        data: {_target_: digits}
        model: {_target_: mlр}
        trainer:
          mаx_epochs: 3
        dаtaloader: {batch_size: 8}
        optimizer: {_target_: adam, lr: 0.1}
        prοject: {}
        """
    )
    assert found == [
        "c.yaml:2:21: unknown model 'mlр'; it has a non-ASCII look-alike character at column "
        "21: 'р' (U+0440 CYRILLIC SMALL LETTER ER), where 'mlp' has 'p'; retype it as 'mlp' "
        "(built-in: cnn, deeplabv3_mobilenet_v3_large, fasterrcnn_mobilenet_v3_large_320_fpn, "
        "fcn_resnet50, fcos_resnet50_fpn, lraspp_mobilenet_v3_large, mlp, resnet, "
        "retinanet_resnet50_fpn, "
        "ssdlite320_mobilenet_v3_large, timm, tiny_fcos, torchvision, unet; or register one in "
        "custom.py with @register)",
        "c.yaml:4:4: unknown key 'trainer.mаx_epochs'; it has a non-ASCII look-alike character "
        "at column 4: 'а' (U+0430 CYRILLIC SMALL LETTER A), where 'max_epochs' has 'a'; "
        "retype it as 'max_epochs'",
        "c.yaml:5:2: unknown section 'dаtaloader'; it has a non-ASCII look-alike character at "
        "column 2: 'а' (U+0430 CYRILLIC SMALL LETTER A), where 'dataloader' has 'a'; retype it "
        "as 'dataloader' (sections: project, data, dataloader, model, loss, optimizer, "
        "scheduler, trainer, callbacks, predict, media, slurm)",
        "c.yaml:7:3: unknown section 'prοject'; it has a non-ASCII look-alike character at "
        "column 3: 'ο' (U+03BF GREEK SMALL LETTER OMICRON), where 'project' has 'o'; retype it "
        "as 'project' (sections: project, data, dataloader, model, loss, optimizer, "
        "scheduler, trainer, callbacks, predict, media, slurm)",
    ]


def test_a_non_ascii_name_without_a_twin_is_still_pointed_at() -> None:
    (found,) = problems("data: {_target_: digits}\nmodel: {_target_: mlp}\ntrainer: {épochs: 3}\n")
    assert found == (
        "c.yaml:3:11: unknown key 'trainer.épochs'; it has a non-ASCII character at column "
        "11: 'é' (U+00E9 LATIN SMALL LETTER E WITH ACUTE); names are plain ASCII"
    )


def test_a_config_that_is_not_utf8_is_reported_at_line_and_column(project: Path) -> None:
    text = "data: {_target_: digits}\nmodel: {_target_: mlp}\n# café in Latin-1\n"
    (project / "configs" / "latin1.yaml").write_bytes(text.encode("latin-1"))
    result = run_recipe(["check", "configs/latin1.yaml"], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configs/latin1.yaml:3:6: byte 0xe9 is not UTF-8 (the file is in another encoding, "
        "e.g. Latin-1 or UTF-16); save it as UTF-8",
        "1 problem(s) found; nothing was trained.",
    ]


def test_a_top_level_list_or_value_is_explained() -> None:
    assert problems("- data: {_target_: digits}\n- model: {_target_: mlp}\n") == [
        "c.yaml:1:1: the top level must be a mapping of sections (data:, model:, trainer:, …), "
        "got a list; write 'section: value' lines, without a leading '- '"
    ]
    assert problems("digits\n") == [
        "c.yaml:1:1: the top level must be a mapping of sections (data:, model:, trainer:, …), "
        "got the single value 'digits'"
    ]


def test_a_directory_given_as_config_lists_its_configs(project: Path) -> None:
    (project / "sweeps").mkdir()
    for name in ("small.yaml", "big.yml", "notes.txt"):
        (project / "sweeps" / name).write_text("data: digits\nmodel: mlp\n")
    result = run_recipe(["check", "sweeps"], project)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "sweeps:1:1: is a directory, not a config; give one of its configs: "
        "sweeps/big.yml, sweeps/small.yaml",
        "1 problem(s) found; nothing was trained.",
    ]


def test_a_non_ascii_look_alike_in_an_override_is_pointed_at() -> None:
    found = check_text(
        "data: digits\nmodel: mlp\n",
        "c.yaml",
        ["model=cnn", "trainer.mаx_epochs=3"],
        project_dir="/nonexistent",
    )
    assert [str(p) for p in found] == [
        "<command line>:1:20: override 'trainer.mаx_epochs=3': key 'trainer.mаx_epochs'; it has "
        "a non-ASCII look-alike character at column 20: 'а' (U+0430 CYRILLIC SMALL LETTER A), "
        "where 'trainer.max_epochs' has 'a'; retype it as 'trainer.max_epochs'"
    ]


def test_a_non_ascii_look_alike_in_an_argument_is_pointed_at(project: Path) -> None:
    (project / "configs" / "arg.yaml").write_text(
        "data: {_target_: digits}\nmodel: {_target_: mlp, hіdden: [8]}\n"
    )
    result = run_recipe(["check", "configs/arg.yaml"], project)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(
        "configs/arg.yaml:2:25: MLP() has no argument 'hіdden'; it has a non-ASCII look-alike "
        "character at column 25: 'і' (U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I), "
        "where 'hidden' has 'i'; retype it as 'hidden' (it accepts: "
    )
