"""`autotrain-tui sweeps SWEEP`: a sweep's trial table in 80 columns, or as JSON.

The table is `core.trials.TrialTable`, the one the UI's sweep view shows: one row per trial
(params, status, best value and its epoch, epochs reached, ASHA rung, run), the best trial
marked `*`. Long run ids and param values are shortened so a row fits a terminal of 80
columns; `--json` (docs/cli-json.md) has them whole.
"""

from __future__ import annotations

import argparse
from typing import Any

from autotrain_tui.cli_output import emit_json
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.project import Project
from autotrain_tui.core.trials import Trial, TrialTable
from autotrain_tui.ui.format import number

WIDTH = 80
_RUN_TAIL = 12  # `…174200-a3f9`: the part of a run id that tells a sweep's runs apart


def cmd_sweep_trials(project: Project, args: argparse.Namespace) -> int:
    table = project.sweep_trials(args.sweep)
    if args.sort:
        table = table.sorted(sort_column(table, args.sort), descending=args.desc)
    if args.json:
        emit_json({"sweep": trials_json(table)})
    else:
        print("\n".join(trial_lines(table)))
    return 0


def sort_column(table: TrialTable, name: str) -> str:
    """A column by its name, or a param by its header (`lr` for `optimizer.lr`)."""
    if name in table.columns:
        return name
    headers = _param_headers(table.param_names)
    matches = [
        full for full, shown in zip(table.param_names, headers, strict=True) if shown == name
    ]
    if len(matches) == 1:
        return matches[0]
    raise ManagerError(f"no column {name!r}: sort by one of {', '.join(table.columns)}")


def trial_lines(table: TrialTable) -> list[str]:
    """The heading and the rows, each at most WIDTH characters."""
    pruner = table.pruner
    halving = f" · ASHA min {pruner.min_resource} x{pruner.reduction_factor}" if pruner else ""
    counts: dict[str, int] = {}
    for trial in table.trials:
        counts[trial.status.value] = counts.get(trial.status.value, 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in counts.items())
    heading = (
        f"{table.kind} · {table.metric} ({table.mode}){halving} · "
        f"{len(table.trials)} trials ({tally})"
    )
    lines = [table.sweep_id, heading[:WIDTH]]
    headers = _param_headers(table.param_names)
    head = ("", "#", "STATUS", *headers, "BEST", "EPOCH", "EPOCHS", "RUNG", "RUN")
    rows = [head, *(_row(table, t) for t in table.trials)]
    # Narrower and narrower until a row fits: run ids to their tail, param values (and
    # headers) to a few characters, then one space between columns; --json has them whole.
    for limit, gap in ((None, 2), (14, 2), (10, 2), (10, 1), (8, 1), (6, 1)):
        text = _align([_fit(row, len(headers), limit) for row in rows], gap)
        if max(len(line) for line in text) <= WIDTH:
            break
    lines.extend(line[:WIDTH] for line in text)
    if table.best is not None:
        lines.append(f"* best {table.metric}: trial {table.best.number} ({table.best.run_id})")
    return lines


def _row(table: TrialTable, trial: Trial) -> tuple[str, ...]:
    params = dict(trial.params)
    return (
        "*" if trial.is_best else "",
        str(trial.number),
        trial.status.value,
        *(params.get(name, "-") for name in table.param_names),
        number(trial.best),
        "-" if trial.best_epoch is None else str(trial.best_epoch),
        str(trial.epochs),
        "-" if trial.rung is None else str(trial.rung),
        trial.run_id,
    )


def _fit(row: tuple[str, ...], params: int, limit: int | None) -> tuple[str, ...]:
    """Shorten params to `limit` and the run id to its tail (None: as they are)."""
    if limit is None:
        return row
    cells = list(row)
    for i in range(3, 3 + params):
        cells[i] = _shorten(cells[i], limit)
    if len(cells[-1]) > _RUN_TAIL and cells[-1] != "RUN":
        cells[-1] = "…" + cells[-1][-(_RUN_TAIL - 1) :]
    return tuple(cells)


def _align(rows: list[tuple[str, ...]], gap: int) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (" " * gap).join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _param_headers(names: tuple[str, ...]) -> list[str]:
    """`optimizer.lr` → `lr`, unless two params would then look the same."""
    short = [name.rsplit(".", 1)[-1] for name in names]
    return [s if short.count(s) == 1 else n for s, n in zip(short, names, strict=True)]


def trials_json(table: TrialTable) -> dict[str, Any]:
    """The stable JSON form of a sweep's trial table (docs/cli-json.md)."""
    pruner = table.pruner
    return {
        "id": table.sweep_id,
        "kind": table.kind,
        "metric": table.metric,
        "mode": table.mode,
        "pruner": None
        if pruner is None
        else {
            "min_resource": pruner.min_resource,
            "reduction_factor": pruner.reduction_factor,
            "max_resource": pruner.max_resource,
        },
        "params": list(table.param_names),
        "best": table.best.run_id if table.best else None,
        "trials": [
            {
                "number": t.number,
                "run": t.run_id,
                "status": t.status.value,
                "params": dict(t.params),
                "best": t.best,
                "best_epoch": t.best_epoch,
                "epochs": t.epochs,
                "rung": t.rung,
                "is_best": t.is_best,
            }
            for t in table.trials
        ],
    }
