"""The autotrain-tui application: sidebar, editor and run dashboard over one `Project`.

The app owns the project-wide state — the runs list (a thread worker reads `runs/` every
`poll_s` seconds, advances the queue now and then, and stats the editor's file to notice
changes made by someone else), the system sampler, and the user's
actions — and pushes it into its panes. Every call into the core that can block runs off
the UI thread; failures become one notification (`on_worker_state_changed`).

Start-up is kept to what the first frame shows (the configs, the editor): dialogs, the
dashboard and its chart, the system sampler and the run summaries are imported or built
on first use, and the first runs poll and the default config's load come just after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Input
from textual.worker import Worker, WorkerState

from autotrain_tui.core.errors import InvalidConfigError, ManagerError
from autotrain_tui.core.project import Project
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.ui.editing import (
    CheckedInputs,
    DiskState,
    discard_recovery,
    read_recovery,
    save_text,
)
from autotrain_tui.ui.messages import (
    FileChangedOnDisk,
    OpenFileRequested,
    RunSelected,
    RunsRefreshed,
    SystemSampled,
)
from autotrain_tui.ui.widgets.editor import EditorPane, parse_located
from autotrain_tui.ui.widgets.sidebar import MAX_RUNS_SHOWN, Sidebar

if TYPE_CHECKING:
    from autotrain_tui.core.sampler import SystemSnapshot
    from autotrain_tui.ui.run_summary import RunSummaries
    from autotrain_tui.ui.widgets.dashboard import RunDashboard

DEFAULT_CONFIG = "digits.yaml"
STOP_GRACE_S = 30.0
QUEUE_EVERY = 5  # advance the queue every this many polls (the supervisors do it too)
# Runs the first poll lists and whose metrics it reads: a tall sidebar's worth (two rows a
# run). The rest of the shown runs (MAX_RUNS_SHOWN) fill in on the next polls, off screen.
FIRST_POLL_RUNS = 40


class Sampler(Protocol):
    """What the app needs of `SystemSampler` (tests pass a fixed one)."""

    def sample(self, runs: Iterable[RunRecord] = ()) -> SystemSnapshot: ...


class MainScreen(Screen[None]):
    """The app's default screen, less one full repaint per focus change.

    Textual's `Screen.focused` is a repainting reactive: every change of focus (tab between
    panes, opening a run, the editor loading) redraws the whole screen, ~25 KB at 120x40,
    all of it crossing an SSH link. The widgets that gain and lose focus restyle and repaint
    themselves (their `:focus` and `:focus-within` styles), so the full redraw adds nothing.
    """

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)


class AutotrainApp(App[int | None]):
    """Edit configs, launch runs, watch them."""

    CSS_PATH = "app.tcss"
    TITLE = "autotrain-tui"

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("slash", "filter", "Filter", show=False),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+r", "launch", "Launch"),
        Binding("ctrl+o", "launch_with_overrides", "Launch…", show=False),
        Binding("f8", "next_problem", "Next problem", show=False),
        Binding("ctrl+n", "new_config", "New config", show=False),
        Binding("e", "show_editor", "Editor", show=False),
        Binding("d", "show_dashboard", "Dashboard", show=False),
        Binding("s", "stop", "Stop"),
        Binding("k", "kill", "Kill"),
        Binding("r", "resume", "Resume"),
        Binding("S", "stop_sweep", "Stop sweep", show=False),
        Binding("R", "resume_sweep", "Resume sweep", show=False),
        Binding("o", "open_run_config", "Open config", show=False),
        Binding("n", "clone_run_config", "Clone", show=False),
        Binding("l", "log_scale", "Log scale", show=False),
        Binding("m", "smoothing", "Smooth", show=False),
        Binding("v", "cycle_metric", "Metric", show=False),
        Binding("c", "compare", "Compare", show=False),
    ]

    DASHBOARD_ACTIONS = frozenset(
        {"stop", "kill", "resume", "open_run_config", "clone_run_config"}
        | {"stop_sweep", "resume_sweep"}
        | {"log_scale", "smoothing", "cycle_metric", "search_log"}
    )
    EDITOR_ACTIONS = frozenset({"save", "next_problem", "new_config"})
    # Need the editor or the dashboard, which are mounted just after the first frame.
    PANE_ACTIONS = (
        DASHBOARD_ACTIONS
        | EDITOR_ACTIONS
        | frozenset({"launch", "launch_with_overrides", "show_editor", "show_dashboard"})
    )

    def __init__(
        self,
        project: Project,
        *,
        sampler: Sampler | None = None,
        clock: Callable[[], float] = time.time,
        poll_s: float = 1.0,
        sample_s: float = 2.0,
        open_default: bool = True,
    ) -> None:
        super().__init__()
        self.project = project
        self._sampler = sampler  # the real one is made on first use: psutil/NVML set-up
        self.clock = clock
        self.poll_s = poll_s
        self.sample_s = sample_s
        self.open_default = open_default
        self.records: dict[str, RunRecord] = {}
        self.statuses: dict[str, RunStatus] | None = None
        self._summaries: RunSummaries | None = None  # made by the poller, off the UI thread
        self._polls = 0
        self._polling = False
        self._sampling = False
        self._disk_prompt_open = False
        self._default_opened = False
        self._panes_ready = asyncio.Event()  # the editor and the dashboard are mounted

    # ---- layout --------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            # The editor and the dashboard are mounted just after the first frame, which
            # needs only the configs listed (the editor's TextArea costs the first frame
            # about 40 ms here; bench/ui.py).
            yield ContentSwitcher(id="main")
        yield Footer()

    async def panes_mounted(self) -> None:
        """Wait until the editor and the dashboard are mounted (just after the first frame);
        `editor` and `dashboard` are there from then on."""
        await self._panes_ready.wait()

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def editor(self) -> EditorPane:
        return self.query_one(EditorPane)

    @property
    def dashboard(self) -> RunDashboard:
        from autotrain_tui.ui.widgets.dashboard import RunDashboard

        return self.query_one("#dashboard", RunDashboard)

    @property
    def sampler(self) -> Sampler:
        if self._sampler is None:
            from autotrain_tui.core.sampler import SystemSampler

            self._sampler = SystemSampler()
        return self._sampler

    @property
    def current_pane(self) -> str | None:
        return self.query_one("#main", ContentSwitcher).current

    def on_mount(self) -> None:
        self.sub_title = str(self.project.root)
        self.refresh_configs()
        # Until the default config reaches the editor (just after the first frame), the
        # configs list has focus: keys typed at once (q, ?, ctrl+r) act, and none lands in
        # the filter box, which Textual would focus first as the first focusable widget.
        self.query_one("#configs").focus()
        # The first frame needs only the configs listed; everything else comes right after:
        # the runs poll, then the default config in the editor with its highlighting and
        # checks. (Reading the runs in a thread during that frame measured no sooner: the
        # two share one interpreter lock.)
        self.call_after_refresh(self._after_first_frame)

    async def _after_first_frame(self) -> None:
        from autotrain_tui.ui.widgets.dashboard import RunDashboard

        main = self.query_one("#main", ContentSwitcher)
        await main.mount(EditorPane(self.project, id="editor"))
        main.current = "editor"
        dashboard = RunDashboard(id="dashboard")
        dashboard.display = False
        # Mounted before the first poll: once runs are listed, a user may open one at once.
        await main.mount(dashboard)
        self._panes_ready.set()
        self.refresh_bindings()
        self.poll_runs()
        self.set_interval(self.poll_s, self.poll_runs)
        self.set_interval(self.sample_s, self.sample_system)

    def _open_default_once(self) -> None:
        """After the first runs poll: the listing of a big `runs/` has the CPU to itself first
        (the editor's load, highlighting and checks would otherwise slow it about twofold)."""
        if self.open_default and not self._default_opened:
            self._default_opened = True
            self.open_default_config()

    def open_default_config(self) -> None:
        """The start-up open: the default config (else the first) into the editor, quietly."""
        default = self.project.configs_dir / DEFAULT_CONFIG
        configs = self.project.list_configs()
        if default.is_file():
            self.open_file(default, quiet=True)
        elif configs:
            self.open_file(configs[0], quiet=True)

    def refresh_configs(self) -> None:
        paths = self.project.list_configs()
        if self.project.custom_py.is_file():
            paths.append(self.project.custom_py)
        self.sidebar.show_configs(paths)

    # ---- polling -------------------------------------------------------------------------

    def poll_runs(self) -> None:
        if not self._polling:
            self._polling = True
            editor = self.editor
            watched = None
            if editor.path is not None and not self._disk_prompt_open:
                watched = (editor.path, editor.disk_state)
            shown = FIRST_POLL_RUNS if self._polls == 0 else MAX_RUNS_SHOWN
            self._poll_runs_worker(self._polls % QUEUE_EVERY == 0, watched, shown)
            self._polls += 1

    @work(thread=True, group="runs-poll", name="runs poller", exit_on_error=False)
    def _poll_runs_worker(
        self, advance_queue: bool, watched: tuple[Path, DiskState | None] | None, shown: int
    ) -> None:
        """`runs/` read and summarised (the newest `shown`); the editor's file checked for
        outside changes."""
        try:
            if watched is not None:
                path, known = watched
                seen = DiskState.of(path)
                if seen != known:
                    self.post_message(FileChangedOnDisk(path, known, seen))
            records = self.project.list_runs()
            if self._summaries is None:
                from autotrain_tui.ui.run_summary import RunSummaries

                self._summaries = RunSummaries()
            summaries = self._summaries.update(records, first_reads=shown)
            self.post_message(RunsRefreshed(records, summaries, shown))
            if advance_queue:
                # After the list is out (a project's first list waits for nothing); what
                # this starts shows on the next poll. A failed step is retried on a later one.
                with contextlib.suppress(ManagerError):
                    self.project.advance_queue()
        finally:
            self._polling = False

    @on(RunsRefreshed)
    def _runs_refreshed(self, message: RunsRefreshed) -> None:
        if not self.query(Sidebar):  # a poll that lands while the app closes
            return
        now = self.clock()
        previous = self.statuses
        self.records = {r.id: r for r in message.records}
        self.statuses = {r.id: r.status for r in message.records}
        if previous is not None:
            for record in message.records:
                before = previous.get(record.id)
                if before is not None and before.is_live and record.status.is_finished:
                    self._notify_finished(record)
        self.sidebar.show_runs(message.records, message.summaries, now, limit=message.shown)
        # The runs reach the screen before the editor's load, highlighting and checks.
        self.call_after_refresh(self._open_default_once)
        shown = self.dashboard.record
        if shown is not None and shown.id in self.records:
            self.dashboard.update_record(self.records[shown.id], now)

    def _notify_finished(self, record: RunRecord) -> None:
        severity: Any = {
            RunStatus.COMPLETED: "information",
            RunStatus.STOPPED: "warning",
        }.get(record.status, "error")
        detail = f": {record.reason}" if record.reason else ""
        self.notify(f"{record.id} {record.status.value}{detail}", severity=severity, timeout=8)

    def sample_system(self) -> None:
        if not self._sampling and self.current_pane == "dashboard":
            self._sampling = True
            running = [r for r in self.records.values() if r.status is RunStatus.RUNNING]
            self._sample_worker(running)

    @work(thread=True, group="sampler", name="system sampler", exit_on_error=False)
    def _sample_worker(self, running: list[RunRecord]) -> None:
        try:
            self.post_message(SystemSampled(self.sampler.sample(running)))
        finally:
            self._sampling = False

    @on(SystemSampled)
    def _system_sampled(self, message: SystemSampled) -> None:
        if self.query("#dashboard"):
            self.dashboard.add_snapshot(message.snapshot)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker failure becomes one notification, never a crash."""
        if event.state is WorkerState.ERROR and event.worker.name == "runs poller":
            self._open_default_once()  # the first poll failed: the editor must not wait on it
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            message = str(error) if isinstance(error, ManagerError) else repr(error)
            self.notify(f"{event.worker.name}: {message}", severity="error", timeout=10)

    # ---- editor --------------------------------------------------------------------------

    @on(OpenFileRequested)
    def _open_requested(self, message: OpenFileRequested) -> None:
        # The user chose a file: the start-up open of the default config no longer applies
        # (as an exclusive worker it would cancel this one, were it still reading).
        self._default_opened = True
        self.open_file(message.path)

    @work(group="open-file", exclusive=True, name="open file", exit_on_error=False)
    async def open_file(self, path: Path, *, quiet: bool = False) -> None:
        """Open `path` in the editor (asking about unsaved changes and recovery copies).

        `quiet` is the start-up open of the default config. It loads the editor but takes
        neither the main pane nor focus from a user who has already moved on (opened a run,
        tabbed to the runs list) while the file was read: their choice wins the race.
        """
        from autotrain_tui.ui.screens.choice import ChoiceScreen

        await self._panes_ready.wait()  # a config chosen within the first frame
        editor = self.editor
        if quiet:
            if editor.path is not None:  # the user opened a file first
                return
        else:
            self.query_one("#main", ContentSwitcher).current = "editor"
            if editor.path == path:
                editor.text_area.focus()
                return
        if not await self._settle_unsaved("switching files"):
            return
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        recovered = await asyncio.to_thread(read_recovery, path)
        buffer = None
        if recovered is not None:
            answer = await self.push_screen_wait(
                ChoiceScreen(
                    f"Unsaved edits of {self._shown(path)} from an earlier session were kept "
                    "(a recovery copy). Restore them?",
                    [("restore", "Restore"), ("discard", "Discard")],
                )
            )
            if answer == "restore":
                buffer = recovered
            else:
                await asyncio.to_thread(discard_recovery, path)
        editor.load(path, text, buffer=buffer)
        if not quiet or self._untouched_since_start():
            editor.text_area.focus()

    def _untouched_since_start(self) -> bool:
        """Whether the editor pane still shows and focus is where `on_mount` left it."""
        focused = self.focused
        return (
            self.current_pane == "editor"
            and self.screen is self.screen_stack[0]
            and (focused is None or focused.id == "configs")
        )

    async def _settle_unsaved(self, doing: str) -> bool:
        """Ask what to do with unsaved edits; False when the user cancels."""
        from autotrain_tui.ui.screens.choice import ChoiceScreen

        if not self._panes_ready.is_set():
            return True  # quit within the first frame: no editor yet, nothing typed
        editor = self.editor
        if not editor.is_dirty:
            return True
        assert editor.path is not None
        answer = await self.push_screen_wait(
            ChoiceScreen(
                f"{editor.display_name()} has unsaved changes ({doing}).",
                [("save", "Save"), ("discard", "Discard"), ("cancel", "Cancel")],
            )
        )
        if answer == "save":
            self.save_editor()
            return True
        if answer == "discard":
            discard_recovery(editor.path)
            editor.saved_text = editor.text  # so nothing asks again
            return True
        return False

    def save_editor(self) -> None:
        editor = self.editor
        if editor.path is None:
            return
        try:
            editor.save()
        except OSError as error:
            self.notify(f"cannot save {editor.display_name()}: {error}", severity="error")
            return
        self.notify(f"saved {editor.display_name()}", timeout=2)
        self.refresh_configs()

    def action_save(self) -> None:
        self.save_editor()

    def action_next_problem(self) -> None:
        if not self.editor.next_problem():
            self.notify("no problems", timeout=2)

    @on(FileChangedOnDisk)
    def _file_changed_on_disk(self, message: FileChangedOnDisk) -> None:
        editor = self.editor
        # A save or a reload since the check moved the editor's idea of the file: stale news.
        if self._disk_prompt_open or editor.path != message.path:
            return
        if editor.disk_state != message.known:
            return
        self._disk_prompt_open = True
        self._offer_reload()

    @work(group="reload", name="reload prompt", exit_on_error=False)
    async def _offer_reload(self) -> None:
        from autotrain_tui.ui.screens.confirm import ConfirmScreen

        editor = self.editor
        path = editor.path
        assert path is not None
        try:
            if not path.exists():
                self.notify(f"{editor.display_name()} was deleted on disk", severity="warning")
                editor.accept_disk_state()
                return
            lose = " Your unsaved changes would be lost." if editor.is_dirty else ""
            answer = await self.push_screen_wait(
                ConfirmScreen(
                    f"{editor.display_name()} changed on disk.{lose} Reload it?",
                    yes="Reload",
                    no="Keep mine",
                )
            )
            if answer and editor.path == path:
                text = await asyncio.to_thread(path.read_text, encoding="utf-8")
                discard_recovery(path)
                editor.load(path, text)
            else:
                editor.accept_disk_state()
        finally:
            self._disk_prompt_open = False

    def action_new_config(self) -> None:
        self._new_config()

    @work(group="new-config", name="new config", exit_on_error=False)
    async def _new_config(self) -> None:
        from autotrain_tui.ui.screens.prompt import PromptScreen

        editor = self.editor
        if not editor.is_config:
            self.notify("open a config first", severity="warning")
            return
        name = await self.push_screen_wait(
            PromptScreen("New config from this one; its name:", placeholder="my-experiment")
        )
        if not name:
            return
        stem = name.strip().removesuffix(".yaml")
        target = self.project.configs_dir / f"{stem}.yaml"
        if target.exists() or "/" in stem or not stem:
            self.notify(f"cannot create configs/{stem}.yaml (exists or bad name)", severity="error")
            return
        await asyncio.to_thread(save_text, target, editor.text)
        self.refresh_configs()
        self.open_file(target)

    # ---- launching -----------------------------------------------------------------------

    def action_launch(self) -> None:
        self.launch_from_editor(ask=False)

    def action_launch_with_overrides(self) -> None:
        self.launch_from_editor(ask=True)

    @work(group="launch", exclusive=True, name="launch", exit_on_error=False)
    async def launch_from_editor(self, ask: bool = False) -> None:
        """Save if needed, check, launch (or queue, or sweep) the editor's config."""
        from autotrain_tui.ui.screens.launch import LaunchRequest, LaunchScreen

        editor = self.editor
        if not editor.is_config or editor.path is None:
            self.notify("open a config (configs/*.yaml) to launch it", severity="warning")
            return
        path = editor.path
        request = LaunchRequest((), queue=False)
        if ask:
            answer = await self.push_screen_wait(LaunchScreen(editor.display_name()))
            if answer is None:
                return
            request = answer
        if editor.is_dirty and not await self._settle_unsaved("launching uses the saved file"):
            return
        # The editor's background check passed on exactly these files: no second one.
        passed = editor.passed_check() if not request.overrides else None
        checked = passed is not None and passed == await asyncio.to_thread(
            CheckedInputs.read, path, self.project.custom_py
        )
        verb = "launching" if checked else "checking and launching"
        self.notify(f"{verb} {editor.display_name()}…", timeout=2)
        try:
            if request.is_sweep:
                sweep = await asyncio.to_thread(self.project.sweep, path, request.overrides)
                self.notify(f"sweep {sweep.id}: {len(sweep.run_ids)} runs queued")
                self.poll_runs()
                return
            record = await asyncio.to_thread(
                self.project.launch,
                path,
                request.overrides,
                queue=request.queue,
                check=not checked,
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
        self.notify(f"{verb} {record.id}", timeout=3)
        self.records[record.id] = record
        self.show_run(record)
        self.poll_runs()

    # ---- runs ----------------------------------------------------------------------------

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

    def action_search_log(self) -> None:
        self.dashboard.log_panel.focus()
        self.dashboard.log_panel.action_search()

    def action_log_scale(self) -> None:
        self.dashboard.chart.toggle_log_scale()

    def action_smoothing(self) -> None:
        self.dashboard.chart.cycle_smoothing()

    def action_cycle_metric(self) -> None:
        self.dashboard.chart.cycle_view()

    def action_compare(self) -> None:
        from autotrain_tui.ui.screens.compare import CompareScreen

        marked = [self.records[i] for i in self.sidebar.marked if i in self.records]
        if len(marked) < 2:
            marked = [r for r in self.records.values() if r.started_at is not None][:2]
        if len(marked) < 2:
            self.notify("mark two or more runs with space to compare them", severity="warning")
            return
        marked.sort(key=lambda r: (r.created_at or 0.0, r.id))
        self.push_screen(CompareScreen(marked))

    # ---- app-wide ------------------------------------------------------------------------

    def action_help(self) -> None:
        from autotrain_tui.ui.screens.help import HelpScreen  # DataTable: not needed at start

        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    async def action_quit(self) -> None:
        self._quit_flow()

    @work(group="quit", exclusive=True, name="quit", exit_on_error=False)
    async def _quit_flow(self) -> None:
        if await self._settle_unsaved("quitting"):
            self.exit(0)

    def live_runs(self) -> list[RunRecord]:
        return [r for r in self.records.values() if r.is_live]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.PANE_ACTIONS and not self._panes_ready.is_set():
            return False  # a key typed within the first frame: nothing to act on yet
        over_main = self.screen is self.screen_stack[0]
        if action in self.DASHBOARD_ACTIONS | self.EDITOR_ACTIONS and not over_main:
            return False
        if action in self.DASHBOARD_ACTIONS:
            return self.current_pane == "dashboard" and self.dashboard.record is not None
        if action in self.EDITOR_ACTIONS:
            return self.current_pane == "editor" and self.editor.path is not None
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands: Sequence[tuple[str, str, Callable[[], Any]]] = (
            ("Launch", "Launch the config in the editor (ctrl+r)", self.action_launch),
            (
                "Launch with overrides / queue / sweep",
                "Type k=v overrides; k=a,b makes a sweep (ctrl+o)",
                self.action_launch_with_overrides,
            ),
            ("Save", "Save the editor's file (ctrl+s)", self.action_save),
            ("Next problem", "Jump to the next config problem (F8)", self.action_next_problem),
            (
                "New config",
                "A new config from the one in the editor (ctrl+n)",
                self.action_new_config,
            ),
            ("Show editor", "Switch to the editor (e)", self.action_show_editor),
            ("Show dashboard", "Dashboard of the highlighted run (d)", self.action_show_dashboard),
            ("Stop run", "SIGTERM, then SIGKILL after the grace period (s)", self.action_stop),
            ("Kill run", "SIGKILL the run's processes, asks first (k)", self.action_kill),
            ("Resume run", "Continue a stopped/failed run from last.ckpt (r)", self.action_resume),
            (
                "Stop sweep",
                "Stop every queued or running run of the run's sweep, asks first (S)",
                self.action_stop_sweep,
            ),
            (
                "Resume sweep",
                "Resume the stopped, failed or lost runs of the run's sweep (R)",
                self.action_resume_sweep,
            ),
            (
                "Search log",
                "Search the run's log; n / N walk the matches (/)",
                self.action_search_log,
            ),
            (
                "Open run config",
                "Open the config the run came from (o)",
                self.action_open_run_config,
            ),
            (
                "Clone run config",
                "Copy the run's config to configs/ (n)",
                self.action_clone_run_config,
            ),
            ("Chart: log scale", "Toggle a log y axis (l)", self.action_log_scale),
            ("Chart: smoothing", "Cycle the smoothing of the curves (m)", self.action_smoothing),
            (
                "Chart: next metric",
                "Cycle the metric the chart shows (v)",
                self.action_cycle_metric,
            ),
            ("Compare runs", "Overlay the marked runs (c)", self.action_compare),
            ("Filter", "Filter configs and runs by text or status (/)", self.action_filter),
            ("Keys", "Show every key (?)", self.action_help),
        )
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

    def _shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project.root))
        except ValueError:
            return str(path)


def make_app(
    project_dir: Path | str,
    *,
    sampler: Sampler | None = None,
    clock: Callable[[], float] = time.time,
    poll_s: float = 1.0,
    sample_s: float = 2.0,
    open_default: bool = True,
    python: str = sys.executable,
) -> AutotrainApp:
    """The one factory the entry point and the tests share."""
    project = Project(project_dir, python=python)
    return AutotrainApp(
        project,
        sampler=sampler,
        clock=clock,
        poll_s=poll_s,
        sample_s=sample_s,
        open_default=open_default,
    )


def run(project_dir: Path) -> int | None:
    """Run the UI on `project_dir`; after it closes, say which runs keep running."""
    try:
        app = make_app(project_dir)
    except ManagerError as error:
        print(f"autotrain-tui: error: {error}", file=sys.stderr)
        return 1
    result = app.run()
    live = app.live_runs()
    if live:
        ids = ", ".join(r.id for r in live[:3]) + (" …" if len(live) > 3 else "")
        print(
            f"autotrain-tui: {len(live)} run(s) keep running: {ids} "
            "(see `autotrain-tui runs`; reopen the UI to watch them)"
        )
    return result
