"""Debugging a run from the UI: the shell command that reproduces it, and where in the
user's own files (custom.py, a config) its last traceback points.

The command trains the config the run was launched with (`runs/<id>/config.yaml`, overrides
applied) in the run's working directory with the GPUs it had, into a new run directory —
never the original's, which it would overwrite. Add `breakpoint()` to custom.py and run it
in a terminal to stop there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from pathlib import Path

from autotrain_tui.core.runs import RunRecord

# The end of a log that is read for its last traceback: a traceback is a few KB, and a
# flooded log must not be read whole on the UI's behalf.
TRACEBACK_TAIL_BYTES = 256 * 1024
_TRACEBACK = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')


def reproduce_command(record: RunRecord) -> str:
    """One shell line that trains `record`'s config again as it ran, into a new run."""
    command = list(record.command)
    if "train" in command:
        prefix = command[: command.index("train") + 1]
    else:  # a record without its command: the recipe as the launcher runs it
        prefix = ["python", "-m", "recipe", "train"]
    cwd = Path(record.cwd) if record.cwd else record.run_dir.parent.parent
    config = record.config_yaml
    try:
        shown = os.path.relpath(config, cwd) if config.is_relative_to(cwd) else str(config)
    except ValueError:
        shown = str(config)
    gpus = ",".join(str(g) for g in record.gpus)
    env = f"CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES={shlex.quote(gpus)}"
    return f"cd {shlex.quote(str(cwd))} && {env} {shlex.join([*prefix, shown])}"


def last_traceback_location(log: Path, project_root: Path) -> tuple[Path, int] | None:
    """The deepest frame of the log's last traceback that lies in a custom.py or a YAML
    config (relative paths taken from `project_root`); None when there is none."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - TRACEBACK_TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    start = text.rfind(_TRACEBACK)
    if start < 0:
        return None
    found = None
    for line in text[start:].splitlines():
        match = _FRAME.match(line)
        if match is None:
            continue
        path = Path(match["file"])
        if not path.is_absolute():
            path = project_root / path
        if path.name == "custom.py" or path.suffix in (".yaml", ".yml"):
            found = (path, int(match["line"]))
    return found


def project_file_for(path: Path, run_dir: Path) -> tuple[Path, bool]:
    """Where to edit a traceback frame: the project's own file for the run's copy of it.

    A run imports the copy of custom.py kept in its run directory (so it runs the code it
    was launched with), so its tracebacks name `runs/<id>/custom.py`; the user means to fix
    the project's file that copy came from (code.json says which). Returns that path and
    whether the project's file has changed since the copy (its lines may have moved).
    """
    try:
        if path.resolve() != (run_dir / "custom.py").resolve():
            return path, False
        record = json.loads((run_dir / "code.json").read_text(encoding="utf-8"))
        source = Path(record["project_dir"]) / record["custom"]
        copied = (run_dir / "custom.py").read_bytes()
    except (OSError, ValueError, KeyError, TypeError):
        return path, False
    try:
        changed = hashlib.sha256(source.read_bytes()).digest() != hashlib.sha256(copied).digest()
    except OSError:
        return path, False  # the project's file is gone: the copy is what there is
    return source, changed
