"""Run and sweep control from the dashboard: show a run; stop, kill (asking first) and
resume it or its whole sweep; open or clone the config it ran with; the chart's and the
log's keys; compare marked runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on, work
from textual.widgets import ContentSwitcher

from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord
from autotrain_tui.ui.flows.base import AppBase
from autotrain_tui.ui.messages import RunSelected

STOP_GRACE_S = 30.0


class RunControl(AppBase):
    """The dashboard's actions on the shown run."""

    @on(RunSelected)
    def _run_selected(self, message: RunSelected) -> None:
        record = self.records.get(message.run_id)
        if record is not None:
            self.show_run(record)

    def show_run(self, record: RunRecord) -> None:
        self.query_one("#main", ContentSwitcher).current = "dashboard"
        if self.dashboard.record is None or self.dashboard.record.id != record.id:
            self.dashboard.show_run(record, self.clock())
        else:
            self.dashboard.update_record(record, self.clock())
        # The editor just hid; without this, focus would fall to the filter box.
        self.dashboard.log_panel.focus()
        self.sample_system()

    def action_show_editor(self) -> None:
        self.query_one("#main", ContentSwitcher).current = "editor"
        self.editor.text_area.focus()

    def action_show_dashboard(self) -> None:
        run_id = self.sidebar.highlighted_run()
        record = self.records.get(run_id) if run_id else self.dashboard.record
        if record is None:
            self.notify("no run to show yet: launch one with ctrl+r", severity="warning")
            return
        self.show_run(record)

    def _shown_run(self) -> RunRecord | None:
        record = self.dashboard.record
        return self.records.get(record.id, record) if record else None

    def action_stop(self) -> None:
        record = self._shown_run()
        if record is not None:
            self._control(record, "stop")

    def action_kill(self) -> None:
        record = self._shown_run()
        if record is not None:
            self._control(record, "kill")

    def action_resume(self) -> None:
        record = self._shown_run()
        if record is not None:
            self._control(record, "resume")

    def action_serve(self) -> None:
        record = self._shown_run()
        if record is not None:
            self._serve(record)

    @work(group="control", name="serve", exit_on_error=False)
    async def _serve(self, record: RunRecord) -> None:
        """An HTTP server over the run, like `autotrain-tui serve RUN --port 0`."""
        from autotrain_tui.core import servers

        if not await self.ensure_trusted("serving"):
            return
        try:
            server = await asyncio.to_thread(
                servers.serve_run, self.project, record.id, servers.ServerOptions(port=0)
            )
        except ManagerError as error:
            self.notify(str(error), severity="error", timeout=8)
            return
        self.notify(
            f"serving {record.id} on {server.url} (autotrain-tui servers stop {server.id})",
            timeout=12,
        )

    @work(group="control", name="run control", exit_on_error=False)
    async def _control(self, record: RunRecord, what: str) -> None:
        from autotrain_tui.ui.screens.confirm import ConfirmScreen

        project = self.project
        try:
            if what == "stop":
                if not record.is_live:
                    self.notify(f"{record.id} is {record.status.value}; nothing to stop")
                    return
                await asyncio.to_thread(project.stop, record.id, grace_s=STOP_GRACE_S)
                self.notify(
                    f"stopping {record.id}: SIGTERM now (it saves a checkpoint), "
                    f"SIGKILL after {STOP_GRACE_S:g}s",
                    timeout=6,
                )
            elif what == "kill":
                if not record.is_live:
                    self.notify(f"{record.id} is {record.status.value}; nothing to kill")
                    return
                sure = await self.push_screen_wait(
                    ConfirmScreen(
                        f"Kill {record.id}? SIGKILL to all its processes at once; "
                        "no checkpoint is saved.",
                        yes="Kill",
                        no="Cancel",
                    )
                )
                if not sure:
                    return
                await asyncio.to_thread(project.kill, record.id)
                self.notify(f"killed {record.id}", severity="warning")
            elif what == "resume":
                if not await self.ensure_trusted("resuming"):
                    return
                resumed = await asyncio.to_thread(project.resume, record.id)
                self.notify(f"resumed {resumed.id}")
                self.records[resumed.id] = resumed
                self.dashboard.show_run(resumed, self.clock())
        except ManagerError as error:
            self.notify(str(error), severity="error", timeout=8)
        self.poll_runs()

    def action_stop_sweep(self) -> None:
        record = self._shown_run()
        if record is not None:
            self._sweep_control(record, "stop")

    def action_resume_sweep(self) -> None:
        record = self._shown_run()
        if record is not None:
            self._sweep_control(record, "resume")

    def action_sweep_view(self) -> None:
        from autotrain_tui.ui.screens.sweep_view import SweepScreen  # DataTable: not at start

        record = self._shown_run()
        if record is None:
            return
        if record.sweep is None:
            self.notify(f"{record.id} is not part of a sweep", severity="warning")
            return
        self.push_screen(SweepScreen(self.project, record.sweep, record.id))

    @work(group="control", name="sweep control", exit_on_error=False)
    async def _sweep_control(self, record: RunRecord, what: str) -> None:
        """Stop (asking first) or resume every run of the shown run's sweep."""
        from autotrain_tui.ui.screens.confirm import ConfirmScreen

        sweep = record.sweep
        if sweep is None:
            self.notify(f"{record.id} is not part of a sweep", severity="warning")
            return
        project = self.project
        try:
            if what == "stop":
                runs = [r for r in self.records.values() if r.sweep == sweep and r.is_live]
                if not runs:
                    self.notify(f"sweep {sweep} has no queued or running run to stop")
                    return
                sure = await self.push_screen_wait(
                    ConfirmScreen(
                        f"Stop sweep {sweep}? Its {len(runs)} queued or running run(s) stop: "
                        f"SIGTERM now (each saves a checkpoint), SIGKILL after "
                        f"{STOP_GRACE_S:g}s; queued ones never start.",
                        yes="Stop sweep",
                        no="Cancel",
                    )
                )
                if not sure:
                    return
                stopped = await asyncio.to_thread(project.stop_sweep, sweep, grace_s=STOP_GRACE_S)
                self.notify(f"stopping sweep {sweep}: {len(stopped)} run(s)", timeout=6)
            else:
                if not await self.ensure_trusted("resuming"):
                    return
                resumed = await asyncio.to_thread(project.resume_sweep, sweep)
                if resumed:
                    self.notify(f"sweep {sweep}: {len(resumed)} run(s) resumed (queued)")
                else:
                    self.notify(f"sweep {sweep} has no stopped, failed or lost run to resume")
        except ManagerError as error:
            self.notify(str(error), severity="error", timeout=8)
        self.poll_runs()

    def action_open_run_config(self) -> None:
        record = self._shown_run()
        if record is None:
            return
        original = self.project.root / record.config if record.config else None
        if original is not None and original.is_file():
            self.open_file(original)
        elif record.config_yaml.is_file():
            self.open_file(record.config_yaml)
        else:
            self.notify(f"{record.id} has no config to open", severity="warning")

    def action_clone_run_config(self) -> None:
        record = self._shown_run()
        if record is not None:
            self._clone(record)

    @work(group="clone", name="clone config", exit_on_error=False)
    async def _clone(self, record: RunRecord) -> None:
        from autotrain_tui.ui.screens.prompt import PromptScreen

        stem = Path(record.config or "config").stem
        name = await self.push_screen_wait(
            PromptScreen(
                f"Copy the config {record.id} ran with to configs/NAME.yaml; NAME:",
                value=f"{stem}-copy",
            )
        )
        if not name:
            return
        try:
            target = await asyncio.to_thread(self.project.clone_config, record.id, name)
        except ManagerError as error:
            self.notify(str(error), severity="error")
            return
        self.notify(f"cloned to {self._shown(target)}")
        self.refresh_configs()
        self.open_file(target)

    def action_copy_command(self) -> None:
        """The shell line that reproduces the run, to the clipboard through the terminal
        (OSC 52, which crosses SSH and tmux where the terminal allows it)."""
        from autotrain_tui.ui.debugging import reproduce_command

        record = self._shown_run()
        if record is None:
            return
        command = reproduce_command(record)
        self.copy_to_clipboard(command)
        self.notify(f"copied (OSC 52): {command}", title="command reproducing the run", timeout=10)

    def action_open_traceback(self) -> None:
        record = self._shown_run()
        if record is not None:
            self._open_traceback(record)

    @work(group="traceback", exclusive=True, name="open traceback", exit_on_error=False)
    async def _open_traceback(self, record: RunRecord) -> None:
        """Open the custom.py or config line where the run's last traceback passed."""
        from autotrain_tui.ui.debugging import last_traceback_location, project_file_for

        found = await asyncio.to_thread(
            last_traceback_location, record.stdout_log, self.project.root
        )
        changed = False
        if found is not None:
            source, changed = await asyncio.to_thread(project_file_for, found[0], record.run_dir)
            found = (source, found[1])
        if found is None:
            self.notify(
                f"{record.id}: no traceback through custom.py or a config in its log",
                severity="warning",
            )
            return
        path, line = found
        if not path.is_file():
            self.notify(f"{path} (line {line}) is no longer there", severity="warning")
            return
        if changed:
            self.notify(
                f"{self._shown(path)} changed since {record.id} ran: line {line} is where "
                f"the error was in the run's copy (runs/{record.run_dir.name}/custom.py)",
                severity="warning",
                timeout=8,
            )
        else:
            self.notify(f"{self._shown(path)}:{line}, from {record.id}'s traceback", timeout=5)
        self.open_file(path, line=line)

    def action_search_log(self) -> None:
        self.dashboard.log_panel.focus()
        self.dashboard.log_panel.action_search()

    def action_log_scale(self) -> None:
        self.dashboard.chart.toggle_log_scale()

    def action_smoothing(self) -> None:
        self.dashboard.chart.cycle_smoothing()

    def action_cycle_metric(self) -> None:
        self.dashboard.chart.cycle_view()

    def action_media_older(self) -> None:
        self.dashboard.media.step(-1)

    def action_media_newer(self) -> None:
        self.dashboard.media.step(+1)

    def action_toggle_media(self) -> None:
        self.dashboard.media.toggle()

    def action_compare(self) -> None:
        from autotrain_tui.ui.screens.compare import CompareScreen

        marked = [self.records[i] for i in self.sidebar.marked if i in self.records]
        if len(marked) < 2:
            # Runs that have trained: a resumed run waiting in the queue has no started_at
            # for now, but its time so far is kept in elapsed_before_s.
            ran = [r for r in self.records.values() if r.started_at or r.elapsed_before_s]
            marked = ran[:2]
        if len(marked) < 2:
            self.notify("mark two or more runs with space to compare them", severity="warning")
            return
        marked.sort(key=lambda r: (r.created_at or 0.0, r.id))
        self.push_screen(CompareScreen(marked))
