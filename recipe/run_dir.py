"""The run directory the recipe writes: its names, where a new one goes, what opens and ends it.

A run directory always lies inside the project's output directory: `project.name` is one
plain name, never a path (`project.name=../..` wrote outside it). Whatever happens to the
run, the last line of its metrics.jsonl is the recipe's end event, so the manager can tell
how it ended from the directory alone when no process was left to record it.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import time
from typing import Any

from recipe.config import ConfigError, Problem, ValidatedConfig
from recipe.config.overrides import apply_overrides_to_text
from recipe.io import atomic_write_text

CONFIG_FILE = "config.yaml"
RESOLVED_FILE = "resolved.yaml"
METRICS_FILE = "metrics.jsonl"
PREDICT_FILE = "predict.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
BEST_CHECKPOINT = "best.ckpt"


def run_name_problem(name: str) -> str | None:
    """Why `name` cannot start a run directory's name, or None when it can."""
    if not name.strip():
        return "is empty"
    bad = sorted({c for c in name if c in ("/", "\\", "\0", os.sep)})
    if bad:
        return f"contains {' and '.join(repr(c) for c in bad)}"
    if name.startswith("."):
        return "starts with '.'"
    return None


def new_run_dir(config: ValidatedConfig) -> str:
    """`<output_dir>/<name>-<YYYYmmdd-HHMMSS>-<4 hex>`: sortable, readable, unique, and
    inside the output directory whatever the name says (a bad name is a ConfigError)."""
    project = config.data["project"]
    name = str(project["name"])
    problem = run_name_problem(name)
    output_dir = os.path.join(config.project_dir, project["output_dir"])
    run_id = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    run_dir = os.path.join(output_dir, run_id)
    if problem is None:
        inside = os.path.dirname(os.path.realpath(run_dir)) == os.path.realpath(output_dir)
        problem = None if inside else "leads outside the output directory"
    if problem is not None:
        where = config.locate(("project", "name"))
        message = (
            f"project.name {name!r} {problem}; it names run directories inside "
            f"{project['output_dir']}/, so use one plain name such as 'digits'"
        )
        raise ConfigError([Problem(where, message)])
    return run_dir


def dump_yaml(data: dict[str, Any]) -> str:
    from recipe.config.overrides import _to_round_trip
    from recipe.config.source import new_yaml

    out = io.StringIO()
    new_yaml().dump(_to_round_trip(data), out)
    return out.getvalue()


def prepare_run_dir(config: ValidatedConfig, run_dir: str) -> None:
    """Write config.yaml (as launched) and resolved.yaml before anything heavy starts."""
    os.makedirs(os.path.join(run_dir, CHECKPOINT_DIR), exist_ok=True)
    launched = os.path.join(run_dir, CONFIG_FILE)
    same_file = os.path.exists(launched) and os.path.samefile(launched, config.source.file)
    if not same_file or config.overrides:
        text = apply_overrides_to_text(config.source.text, config.overrides, config.source.file)
        atomic_write_text(launched, text)
    atomic_write_text(os.path.join(run_dir, RESOLVED_FILE), dump_yaml(config.data))


def _last_record(path: str) -> dict[str, Any] | None:
    """The last whole JSON line of a metrics file, or None."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 65536))
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        return record if isinstance(record, dict) else None
    return None


def ensure_end_event(run_dir: str, status: str, exit_code: int) -> None:
    """Append `{"event": "end", "status", "exit_code", ...}` unless the file already ends
    with an end event (the trainer writes its own, with the step it reached).

    For outcomes the trainer never saw: a failure before or during training, a stop before
    it started. Only rank 0 writes (under DDP the other ranks are its children; under srun
    its siblings, told apart by SLURM_PROCID).
    """
    ranks = (os.environ.get(key, "0") for key in ("LOCAL_RANK", "RANK", "SLURM_PROCID"))
    if any(rank != "0" for rank in ranks) or not os.path.isdir(run_dir):
        return
    path = os.path.join(run_dir, METRICS_FILE)
    last = _last_record(path)
    if last is not None and last.get("event") == "end" and last.get("exit_code") == exit_code:
        return
    step = last.get("step") if last else None
    epoch = last.get("epoch") if last else None
    record = {
        "event": "end",
        "time": time.time(),
        "step": step if isinstance(step, int) else 0,
        "epoch": epoch if isinstance(epoch, int) else 0,
        "total_steps": last.get("total_steps") if last else None,
        "max_epochs": last.get("max_epochs") if last else None,
        "status": status,
        "exit_code": exit_code,
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        handle.flush()


def debug_run_dir(config: ValidatedConfig) -> str:
    """A scratch directory outside the project for `--debug`: nothing lands in runs/."""
    import tempfile

    name = str(config.data["project"]["name"])
    name = name if run_name_problem(name) is None else "run"
    return tempfile.mkdtemp(prefix=f"recipe-debug-{name}-")
