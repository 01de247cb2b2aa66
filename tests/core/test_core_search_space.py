"""The search-space syntax of `sweep --trials`: parsed without torch or optuna, and each
mistake named in one line with its fix."""

from __future__ import annotations

import pytest

from autotrain_tui.cli import main
from autotrain_tui.core import ManagerError, Project
from autotrain_tui.core.search_space import (
    Param,
    format_value,
    is_search,
    parse_space,
)


def test_parse_space_reads_every_function_and_keeps_fixed_items() -> None:
    space = parse_space(
        [
            "optimizer.lr=loguniform(1e-4,1e-1)",
            "model.dropout=uniform(0, 0.5)",
            "dataloader.batch_size=int(16,128)",
            "model.hidden=choice([64],[128,64])",
            "optimizer._target_=adamw,sgd",
            "trainer.max_epochs=9",
        ]
    )
    assert space.fixed == ("trainer.max_epochs=9",)
    assert space.params == (
        Param("optimizer.lr", "loguniform", low=1e-4, high=0.1),
        Param("model.dropout", "uniform", low=0.0, high=0.5),
        Param("dataloader.batch_size", "int", low=16, high=128),
        Param("model.hidden", "choice", choices=("[64]", "[128,64]")),
        Param("optimizer._target_", "choice", choices=("adamw", "sgd")),
    )
    assert space.spec() == {
        "optimizer.lr": "loguniform(0.0001,0.1)",
        "model.dropout": "uniform(0,0.5)",
        "dataloader.batch_size": "int(16,128)",
        "model.hidden": "choice([64],[128,64])",
        "optimizer._target_": "choice(adamw,sgd)",
    }


def test_check_points_cover_every_corner_once() -> None:
    space = parse_space(["a=uniform(0,1)", "b=x,y,z", "c=3"])
    assert space.check_points() == [
        ["c=3", "a=0.0", "b=x"],
        ["c=3", "a=1.0", "b=x"],
        ["c=3", "a=0.0", "b=y"],
        ["c=3", "a=0.0", "b=z"],
    ]


def test_format_value_is_exact() -> None:
    assert format_value(Param("k", "int", low=1, high=9), 4) == "4"
    assert format_value(Param("k", "loguniform", low=1e-4, high=1), 0.0031415926) == (
        "0.0031415926"
    )
    assert format_value(Param("k", "choice", choices=("[64]",)), "[64]") == "[64]"


def test_is_search() -> None:
    assert is_search(["a=1", "b=uniform(0,1)"])
    assert not is_search(["a=1,2", "m.layers=[64,128]"])


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            ["lr=normal(0,1)"],
            "lr=normal(0,1): unknown function 'normal'; write choice(a,b), uniform(lo,hi), "
            "loguniform(lo,hi) or int(lo,hi)",
        ),
        (
            ["lr=uniform(0.5,0.1)"],
            "lr=uniform(0.5,0.1): the low bound must be below the high one, e.g. "
            "lr=uniform(0.1,0.5)",
        ),
        (
            ["lr=uniform(1,1)"],
            "lr=uniform(1,1): the bounds are equal; write lr=1 for a fixed value",
        ),
        (
            ["lr=loguniform(0,1)"],
            "lr=loguniform(0,1): loguniform needs bounds above 0; use uniform(0,1) or a "
            "positive low bound",
        ),
        (["n=int(1.5,4)"], "n=int(1.5,4): int bounds must be whole numbers, e.g. n=int(16,128)"),
        (["lr=uniform(a,1)"], "lr=uniform(a,1): 'a' is not a number"),
        (["lr=uniform(1)"], "lr=uniform(1): uniform takes two bounds, e.g. lr=uniform(1,10)"),
        (["lr=choice(1,)"], "lr=choice(1,): an empty choice; write choice(a,b,...)"),
        (["a=1,2", "a=uniform(0,1)"], "a=uniform(0,1): a is given twice; keep one item per key"),
        (["lr"], "not an override (expected key=value): 'lr'"),
        (
            ["trainer.max_epochs=3"],
            "a search sweep needs at least one searched key (choice(a,b), uniform(lo,hi), "
            "loguniform(lo,hi) or int(lo,hi), or k=a,b), e.g. optimizer.lr=loguniform(1e-4,1e-1)",
        ),
    ],
)
def test_parse_space_errors_name_the_item_and_the_fix(items: list[str], message: str) -> None:
    with pytest.raises(ManagerError) as caught:
        parse_space(items)
    assert str(caught.value) == message


def test_cli_search_sweep_mistakes_are_one_line_and_leave_nothing(
    real_project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(real_project.root)
    cases = [
        (
            ["optimizer.lr=uniform(0,1)"],
            2,
            "autotrain-tui: error: a search sweep (choice/uniform/loguniform/int) needs "
            "--trials N\n",
        ),
        (
            ["optimizer.lr=loguniform(0,1)", "--trials", "4"],
            1,
            "autotrain-tui: error: optimizer.lr=loguniform(0,1): loguniform needs bounds "
            "above 0; use uniform(0,1) or a positive low bound\n",
        ),
        (
            ["optimizer.lr=uniform(1e-3,1e-1)", "model.hiddn=[8],[16]", "--trials", "4"],
            2,  # an invalid config, as for launch
            "model.hiddn",  # the recipe's check names the key and suggests `hidden`
        ),
    ]
    for items, code, message in cases:
        assert main(["sweep", "tiny", *items, "-C", root]) == code
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert not (real_project.runs_dir / ".sweeps").exists()
    assert real_project.list_runs() == []
