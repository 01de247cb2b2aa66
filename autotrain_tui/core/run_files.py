"""Deleting a finished run and copying its config: the file actions of `Project`.

Both touch only what was named: `remove` deletes one real directory directly under `runs/`,
checked again under the queue lock just before the delete; `clone_config` writes a new
`configs/<name>.yaml` and never overwrites one.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from autotrain_tui.core import queue
from autotrain_tui.core.atomic import write_atomic
from autotrain_tui.core.errors import (
    ManagerError,
    ProjectNotWritableError,
    RunIsLiveError,
    describe_os_error,
    writes_project,
)
from autotrain_tui.core.listing import run_json_problem
from autotrain_tui.core.runs import RunRecord, read_run, reconcile

_CONFIG_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class RunFileActions:
    """`remove` and `clone_config`, over what `Project` provides."""

    if TYPE_CHECKING:  # provided by Project

        @property
        def runs_dir(self) -> Path: ...
        @property
        def configs_dir(self) -> Path: ...

        def get_run(self, ref: str) -> RunRecord: ...

    def remove(self, ref: str) -> RunRecord:
        """Delete a finished run's directory; refuses a queued or running one.

        Only ever a real directory directly under `runs/` (see `resolve_run_id`), checked
        again (not a link) just before the delete, so nothing outside `runs/` is reached.
        """
        record = self.get_run(ref)
        name = record.run_dir.name
        if record.is_live:
            raise RunIsLiveError(f"run {name} is {record.status.value}; stop it first")
        shown = f"{self.runs_dir.name}/{name}"
        try:
            with queue.queue_lock(self.runs_dir):
                current = reconcile(read_run(record.run_dir))
                if current.is_live:
                    raise RunIsLiveError(f"run {name} is {current.status.value}; stop it first")
                info = os.lstat(record.run_dir)
                if not stat.S_ISDIR(info.st_mode):
                    raise ManagerError(f"{shown} is not a run directory; nothing was deleted")
                shutil.rmtree(record.run_dir)
        except ValueError as error:  # run.json damaged meanwhile
            raise ManagerError(run_json_problem(self.runs_dir, name, error)) from error
        except OSError as error:
            raise ProjectNotWritableError(describe_os_error(error, self.runs_dir)) from error
        return current

    @writes_project
    def clone_config(self, ref: str, name: str) -> Path:
        """Copy a run's `config.yaml` (as launched) to `configs/<name>.yaml`; never overwrites."""
        record = self.get_run(ref)
        stem = name[:-5] if name.endswith(".yaml") else name
        if not _CONFIG_NAME.fullmatch(stem):
            raise ManagerError(
                f"invalid config name {name!r}: use letters, digits, '_', '-' and '.'"
            )
        target = self.configs_dir / f"{stem}.yaml"
        if target.exists():
            raise ManagerError(f"configs/{stem}.yaml already exists")
        try:
            text = record.config_yaml.read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise ManagerError(f"run {record.id} has no config.yaml") from error
        self.configs_dir.mkdir(exist_ok=True)
        write_atomic(target, text)
        return target
