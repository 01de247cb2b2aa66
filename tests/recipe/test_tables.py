"""A CSV as users have it — a text column, missing values — trains, and `predict` applies
the very preprocessing fitted in training (saved as the run's preprocess.pkl) to new rows,
an unseen category and a missing value among them. Real files, real training."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from recipe import data
from recipe.data import DataError
from tests.helpers import read_metrics, run_recipe

CITIES = ["paris", "rome", "oslo"]


def write_people(path: Path, n: int, seed: int) -> None:
    """Who bought: everyone in Oslo, and anyone over 55; income is noise. Every 10th
    age and every 13th city is missing."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["age", "city", "income", "bought"])
        for i in range(n):
            city = str(rng.choice(CITIES))
            age = int(rng.integers(18, 70))
            bought = "yes" if city == "oslo" or age > 55 else "no"
            writer.writerow(
                [
                    "" if i % 10 == 0 else age,
                    "" if i % 13 == 0 else city,
                    round(float(rng.normal(50, 10)), 1),
                    bought,
                ]
            )


def test_a_csv_with_text_and_missing_values_trains_and_predicts(project: Path) -> None:
    write_people(project / "people.csv", 400, seed=0)
    (project / "configs" / "people.yaml").write_text(
        textwrap.dedent(
            """\
            data:
              _target_: csv
              path: people.csv
              target: bought
            model: {_target_: mlp, hidden: [32]}
            optimizer: {_target_: adamw, lr: 1.0e-2}
            trainer: {max_epochs: 20}
            """
        )
    )
    result = run_recipe(["train", "configs/people.yaml", "--run-dir", "runs/people"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    run = project / "runs" / "people"
    assert (run / "preprocess.pkl").is_file()
    info = json.loads((run / "predict.json").read_text())
    assert info["preprocess"]["kind"] == "table"
    assert info["preprocess"]["column_kinds"] == {
        "age": "numeric",
        "city": "categorical",
        "income": "numeric",
    }
    records = read_metrics(run)
    accuracy = [r["metrics"]["val/acc"] for r in records if "val/acc" in r.get("metrics", {})]
    assert accuracy[-1] >= 0.85

    rows = project / "new.csv"
    rows.write_text(
        "age,city,income\n"
        "30,oslo,50\n"  # Oslo: yes
        "65,paris,48\n"  # over 55: yes
        "25,rome,52\n"  # no
        "20,lima,50\n"  # a city training never saw
        ",paris,50\n"  # no age
        "40,,50\n"  # no city
    )
    predicted = run_recipe(["predict", "runs/people", str(rows)], project)
    assert predicted.returncode == 0, predicted.stderr
    outputs = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert [o["input"].rsplit(":", 1)[1] for o in outputs] == ["2", "3", "4", "5", "6", "7"]
    assert [o["prediction"] for o in outputs[:3]] == ["yes", "yes", "no"]
    assert all(o["prediction"] in ("yes", "no") for o in outputs)

    bad = project / "bad.csv"
    bad.write_text("age,city,income\nold,rome,50\n")
    refused = run_recipe(["predict", "runs/people", str(bad)], project)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"predict: {bad}:2: column 'age' is numeric in training but holds 'old'; "
        "write a number or leave the cell empty"
    )


def test_the_encoder_is_fitted_on_the_training_rows_only(tmp_path: Path) -> None:
    # A category seen only in validation rows encodes as all zeros, like an unseen one.
    path = tmp_path / "t.csv"
    path.write_text("colour,x,y\n" + "".join(f"red,{i},0\nblue,{i},1\n" for i in range(10)))
    val = tmp_path / "v.csv"
    val.write_text("colour,x,y\ngreen,1,0\nred,,1\n")
    bundle = data.csv(str(path), target="y", val_path=str(val))
    names = bundle.preprocess["feature_names"]
    assert names == ["x", "colour=blue", "colour=red"]
    x_val = bundle.val.tensors[0].numpy()
    assert x_val[0, 1:].tolist() == [0.0, 0.0]  # green: unseen
    assert x_val[1, 1:].tolist() == [0.0, 1.0]
    assert x_val[1, 0] == pytest.approx(0.0, abs=0.2)  # the median of training x, scaled

    ordinal = data.csv(str(path), target="y", val_path=str(val), categorical="ordinal")
    assert ordinal.preprocess["feature_names"] == ["x", "colour"]
    assert ordinal.val.tensors[0].numpy()[:, 1].tolist() == [-1.0, 1.0]
    with pytest.raises(DataError, match="categorical must be 'onehot' or 'ordinal'"):
        data.csv(str(path), target="y", categorical="binary")


def test_a_plain_numeric_csv_keeps_the_plain_path(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20)))
    bundle = data.csv(str(path), target="y")
    assert bundle.preprocess["kind"] == "tabular"
    assert bundle.fitted_preprocess is None
