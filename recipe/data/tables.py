"""Tables as users have them: text (categorical) columns and missing values.

A CSV whose feature columns are all numbers and complete keeps the plain path (the
recipe's own standardisation, all in `predict.json`). Any other table is encoded by a
scikit-learn `ColumnTransformer` fitted on the training rows only: numeric columns get
their median for a missing value and are standardised; text columns get `(missing)` for
a missing value and are one-hot encoded (a category unseen in training encodes as all
zeros) or, with `categorical: ordinal`, numbered (unseen: -1). The fitted transformer
is the run's `preprocess.pkl`, which `predict` applies to new rows exactly as trained.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from recipe.data.bundle import (
    DataBundle,
    TaskChoice,
    encode_labels,
    from_arrays,
    resolve_task,
    split_indices,
)
from recipe.data.errors import DataError

PREPROCESS_FILE = "preprocess.pkl"
MISSING = "(missing)"

Encoding = Literal["onehot", "ordinal"]


@dataclass(frozen=True)
class Cells:
    """A table's feature cells as text, row by row, and where each row is (`path:line`)."""

    rows: list[list[str]]
    where: list[str]


def encoded_table(
    cells: Cells,
    y: np.ndarray,
    names: list[str],
    kinds: dict[str, str],
    val: tuple[Cells, np.ndarray] | None,
    task: TaskChoice,
    val_fraction: float,
    seed: int,
    normalize: bool,
    normalize_target: bool,
    categorical: str,
    source: str,
) -> DataBundle:
    """The bundle of an encoded table: split first (stratified by class), fit the
    ColumnTransformer on the training rows only, encode both parts."""
    table = as_objects(cells.rows, names, kinds, cells.where)
    if val is not None:
        train_table, y_train = table, y
        val_table = as_objects(val[0].rows, names, kinds, val[0].where)
        y_valid = val[1]
        resolved = resolve_task(np.concatenate([y, y_valid]), task, source)
    else:
        resolved = resolve_task(y, task, source)
        labels = encode_labels(y, None, source)[0] if resolved == "classification" else None
        train_idx, val_idx = split_indices(
            len(table), val_fraction=val_fraction, seed=seed, labels=labels, source=source
        )
        train_table, val_table = table[train_idx], table[val_idx]
        y_train, y_valid = y[train_idx], y[val_idx]
    transformer, encoded_names = fit_transformer(train_table, names, kinds, normalize, categorical)
    bundle = from_arrays(
        transform(transformer, train_table),
        y_train,
        task=resolved,
        x_val=transform(transformer, val_table),
        y_val=y_valid,
        feature_names=encoded_names,
        seed=seed,
        normalize=False,  # the transformer standardised the numeric columns
        normalize_target=normalize_target,
        source=source,
        preprocess_extra={
            "kind": "table",
            "columns": names,
            "column_kinds": kinds,
            "categorical": categorical,
            "transformer": PREPROCESS_FILE,
        },
    )
    return replace(bundle, fitted_preprocess=transformer)


def csv_dialect(sample: str) -> Any:
    """The dialect of a CSV from its first bytes: comma, semicolon or tab, else Excel's."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def column_kinds(names: list[str], cells: list[list[str]]) -> dict[str, str]:
    """`numeric` for a column whose filled cells are all numbers, else `categorical`."""
    kinds = {}
    for c, name in enumerate(names):
        filled = [row[c] for row in cells if row[c] != ""]
        kinds[name] = "numeric" if all(is_number(v) for v in filled) else "categorical"
    return kinds


def needs_encoding(kinds: dict[str, str], cells: list[list[str]]) -> bool:
    """Whether a table needs the transformer: a text column or a missing value."""
    return any(k == "categorical" for k in kinds.values()) or any("" in row for row in cells)


def as_objects(
    cells: list[list[str]], names: list[str], kinds: dict[str, str], where: list[str]
) -> np.ndarray:
    """Rows of text cells as an object array: floats for numeric columns, text for
    categorical ones, NaN where a cell is empty. `where[r]`: row r's `path:line`."""
    table = np.empty((len(cells), len(names)), dtype=object)
    for r, row in enumerate(cells):
        for c, name in enumerate(names):
            cell = row[c]
            if cell == "":
                table[r, c] = np.nan
            elif kinds[name] == "numeric":
                if not is_number(cell):
                    raise DataError(
                        f"{where[r]}: column {name!r} is numeric in training but holds "
                        f"{cell!r}; write a number or leave the cell empty"
                    )
                table[r, c] = float(cell)
            else:
                table[r, c] = cell
    return table


def fit_transformer(
    table: np.ndarray, names: list[str], kinds: dict[str, str], normalize: bool, encoding: str
) -> tuple[Any, list[str]]:
    """Fit the ColumnTransformer on training rows; return it and its output's names."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    if encoding not in ("onehot", "ordinal"):
        raise DataError(f"csv: categorical must be 'onehot' or 'ordinal', got {encoding!r}")
    numeric = [i for i, n in enumerate(names) if kinds[n] == "numeric"]
    text = [i for i, n in enumerate(names) if kinds[n] == "categorical"]
    encoder = (
        OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        if encoding == "onehot"
        else OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    )
    parts = []
    if numeric:
        steps: list[Any] = [SimpleImputer(strategy="median", keep_empty_features=True)]
        steps += [StandardScaler()] if normalize else []
        parts.append(("numeric", make_pipeline(*steps), numeric))
    if text:
        fill = SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)
        parts.append(("categorical", make_pipeline(fill, encoder), text))
    transformer = ColumnTransformer(parts, sparse_threshold=0.0)
    transformer.fit(table)
    out = [names[i] for i in numeric]
    if text:
        fitted = transformer.named_transformers_["categorical"][-1]
        for i, categories in zip(text, fitted.categories_, strict=True):
            if encoding == "onehot":
                out.extend(f"{names[i]}={c}" for c in categories)
            else:
                out.append(names[i])
    return transformer, out


def transform(transformer: Any, table: np.ndarray) -> np.ndarray:
    """The encoded rows as float32 (warnings about unseen categories are expected)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*unknown categories.*")
        return np.asarray(transformer.transform(table), dtype=np.float32)


def save_transformer(transformer: Any, run_dir: str) -> None:
    """Write the fitted transformer as the run's preprocess.pkl (atomically)."""
    import joblib

    from recipe.io import atomic_write_with

    atomic_write_with(
        os.path.join(run_dir, PREPROCESS_FILE), lambda handle: joblib.dump(transformer, handle)
    )


def load_transformer(run_dir: str | Path) -> Any:
    """The run's fitted transformer (a pickle: load run directories you trust, as for
    their checkpoints)."""
    import joblib

    path = Path(run_dir) / PREPROCESS_FILE
    if not path.is_file():
        raise DataError(f"{path}: missing; this run's table preprocessing was not saved")
    return joblib.load(path)
