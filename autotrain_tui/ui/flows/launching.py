"""Launching: the editor's config saved if asked, checked (unless the editor's background
check already passed on exactly these files) and launched, queued or swept, on this machine
or on SLURM. Where to run is remembered for the session: the dialog opens on the last
choice, and ctrl+r (no dialog) launches there too."""

from __future__ import annotations

import asyncio

from textual import work
from textual.widgets import ContentSwitcher

from autotrain_tui.core.errors import InvalidConfigError, ManagerError
from autotrain_tui.core.runs import RunStatus
from autotrain_tui.ui.editing import CheckedInputs
from autotrain_tui.ui.flows.base import AppBase
from autotrain_tui.ui.widgets.editor import parse_located


class LaunchingFlow(AppBase):
    """ctrl+r and ctrl+o."""

    def action_launch(self) -> None:
        self.launch_from_editor(ask=False)

    def action_launch_with_overrides(self) -> None:
        self.launch_from_editor(ask=True)

    @work(group="launch", exclusive=True, name="launch", exit_on_error=False)
    async def launch_from_editor(self, ask: bool = False) -> None:
        """Save if needed, check, launch (or queue, or sweep) the editor's config."""
        from autotrain_tui.ui.screens.launch import LaunchRequest, LaunchScreen, sbatch_missing

        editor = self.editor
        if not editor.is_config or editor.path is None:
            self.notify("open a config (configs/*.yaml) to launch it", severity="warning")
            return
        path = editor.path
        request = LaunchRequest((), queue=False, slurm=self.launch_on_slurm)
        if ask:
            screen = LaunchScreen(editor.display_name(), slurm=self.launch_on_slurm)
            answer = await self.push_screen_wait(screen)
            if answer is None:
                return
            request = answer
            self.launch_on_slurm = answer.slurm
        elif request.slurm and sbatch_missing():
            self.notify(f"not launched: {sbatch_missing()} (ctrl+o: run here)", severity="error")
            return
        if editor.is_dirty and not await self._settle_unsaved("launching uses the saved file"):
            return
        if not await self.ensure_trusted("launching"):
            return
        # The editor's background check passed on exactly these files: no second one.
        passed = editor.passed_check() if not request.overrides else None
        checked = passed is not None and passed == await asyncio.to_thread(
            CheckedInputs.read, path, self.project.custom_py
        )
        verb = "launching" if checked else "checking and launching"
        where = " on SLURM" if request.slurm else ""
        self.notify(f"{verb} {editor.display_name()}{where}…", timeout=2)
        # slurm= only when chosen: a local launch calls the core exactly as before.
        slurm = {"slurm": True} if request.slurm else {}
        try:
            if request.is_sweep:
                sweep = await asyncio.to_thread(
                    self.project.sweep, path, request.overrides, **slurm
                )
                done = "submitted to SLURM" if request.slurm else "queued"
                self.notify(f"sweep {sweep.id}: {len(sweep.run_ids)} runs {done}")
                self.poll_runs()
                return
            record = await asyncio.to_thread(
                self.project.launch,
                path,
                request.overrides,
                queue=request.queue,
                check=not checked,
                **slurm,
            )
        except InvalidConfigError as error:
            editor.problems = parse_located(error.messages)
            editor.full_check = "failed"
            editor._show_problems()
            self.query_one("#main", ContentSwitcher).current = "editor"
            self.notify(
                f"not launched: {error.messages[0] if error.messages else error}",
                title="invalid config",
                severity="error",
                timeout=10,
            )
            return
        except ManagerError as error:
            self.notify(f"not launched: {error}", severity="error", timeout=10)
            return
        verb = "queued" if record.status is RunStatus.QUEUED else "launched"
        job = f" as SLURM job {record.slurm.job_id}" if record.slurm and record.slurm.job_id else ""
        self.notify(f"{verb} {record.id}{job}", timeout=3)
        self.records[record.id] = record
        self.show_run(record)
        self.poll_runs()
