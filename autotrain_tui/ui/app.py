"""The autotrain-tui application: sidebar, editor and run dashboard over one `Project`.

The app composes the screen and routes keys; each flow lives in a module of its own under
`ui/flows/` — polling (the runs list read every `poll_s` seconds, the queue advanced now and
then, custom.py watched, the system sampler, worker failures as notifications), file flows
(open, save, reload, new config), launching, run control (stop, kill, resume, sweeps,
clone, compare, the debugging keys) and trusting (nothing imports an untrusted project's
code). Every call into the core that can block runs off the UI thread; the UI ends when its
terminal goes away (`ui/terminal.py`).

Start-up is kept to what the first frame shows (the configs, the editor): dialogs, the
dashboard and its chart, the system sampler and the run summaries are imported or built
on first use, and the first runs poll and the default config's load come just after it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Input
from textual.worker import get_current_worker

from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.project import Project
from autotrain_tui.ui.flows.base import Sampler
from autotrain_tui.ui.flows.file_flows import DEFAULT_CONFIG, FileFlows
from autotrain_tui.ui.flows.launching import LaunchingFlow
from autotrain_tui.ui.flows.polling import FIRST_POLL_RUNS, QUEUE_EVERY, PollingFlow
from autotrain_tui.ui.flows.run_control import STOP_GRACE_S, RunControl
from autotrain_tui.ui.flows.steering import SteeringFlow
from autotrain_tui.ui.flows.trusting import TrustFlow
from autotrain_tui.ui.terminal import TERMINAL_GONE_EXIT, end_process_later, wait_for_hangup
from autotrain_tui.ui.widgets.editor import EditorPane
from autotrain_tui.ui.widgets.sidebar import Sidebar

__all__ = [
    "DEFAULT_CONFIG",
    "FIRST_POLL_RUNS",
    "QUEUE_EVERY",
    "STOP_GRACE_S",
    "AutotrainApp",
    "MainScreen",
    "Sampler",
    "exit_status",
    "make_app",
    "run",
]


class MainScreen(Screen[None]):
    """The app's default screen, less one full repaint per focus change.

    Textual's `Screen.focused` is a repainting reactive: every change of focus (tab between
    panes, opening a run, the editor loading) redraws the whole screen, ~25 KB at 120x40,
    all of it crossing an SSH link. The widgets that gain and lose focus restyle and repaint
    themselves (their `:focus` and `:focus-within` styles), so the full redraw adds nothing.
    """

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)


class AutotrainApp(LaunchingFlow, RunControl, SteeringFlow, FileFlows, TrustFlow, PollingFlow):
    """Edit configs, launch runs, watch them."""

    CSS_PATH = "app.tcss"
    TITLE = "autotrain-tui"

    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("f1", "help", "Help", show=False),
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
        Binding("t", "sweep_view", "Sweep trials", show=False),
        Binding("o", "open_run_config", "Open config", show=False),
        Binding("n", "clone_run_config", "Clone", show=False),
        Binding("l", "log_scale", "Log scale", show=False),
        Binding("m", "smoothing", "Smooth", show=False),
        Binding("v", "cycle_metric", "Metric", show=False),
        Binding("c", "compare", "Compare", show=False),
        Binding("T", "trust", "Trust", show=False),
        Binding("y", "copy_command", "Copy command", show=False),
        Binding("g", "open_traceback", "Go to error", show=False),
        Binding("w", "serve", "Serve", show=False),
        Binding("L", "set_lr", "Set lr", show=False),
        Binding("E", "extend_epochs", "max_epochs", show=False),
        Binding("W", "save_now", "Save now", show=False),
        Binding("left_square_bracket", "media_older", "Older image", show=False),
        Binding("right_square_bracket", "media_newer", "Newer image", show=False),
        Binding("i", "toggle_media", "Images", show=False),
    ]

    DASHBOARD_ACTIONS = frozenset(
        {"stop", "kill", "resume", "open_run_config", "clone_run_config"}
        | {"copy_command", "open_traceback", "serve"}
        | {"stop_sweep", "resume_sweep", "sweep_view"}
        | {"set_lr", "extend_epochs", "save_now"}
        | {"log_scale", "smoothing", "cycle_metric", "search_log"}
        | {"media_older", "media_newer", "toggle_media"}
    )
    EDITOR_ACTIONS = frozenset({"save", "next_problem", "new_config"})
    # Need the editor or the dashboard, which are mounted just after the first frame.
    PANE_ACTIONS = (
        DASHBOARD_ACTIONS
        | EDITOR_ACTIONS
        | frozenset({"launch", "launch_with_overrides", "show_editor", "show_dashboard"})
    )

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

    def on_mount(self) -> None:
        self.sub_title = str(self.project.root)
        self.refresh_configs()
        # The configs list has focus at start, and keeps it when the default config reaches
        # the editor: single keys (q, ?) act instead of being typed into the config, and
        # none lands in the filter box, which Textual would focus as the first focusable.
        self.query_one("#configs").focus()
        if not self.is_headless:
            self._watch_terminal()
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
        if not self.trusted:
            self.notify(
                "untrusted project: nothing of its code runs until you trust it (T); "
                "the quick check runs meanwhile",
                severity="warning",
                timeout=10,
            )
        self.poll_runs()
        self.set_interval(self.poll_s, self.poll_runs)
        self.set_interval(self.sample_s, self.sample_system)

    # ---- app-wide ------------------------------------------------------------------------

    @work(thread=True, group="terminal", name="terminal watch", exit_on_error=False)
    def _watch_terminal(self) -> None:
        """End the UI when its terminal goes away (`ui/terminal.py` says why a signal is not
        enough)."""
        worker = get_current_worker()
        stdin = sys.__stdin__
        if stdin is not None and wait_for_hangup(stdin.fileno(), lambda: worker.is_cancelled):
            self.call_from_thread(self._terminal_gone)

    def _terminal_gone(self) -> None:
        # Nobody is there to answer a question: unsaved edits stay in their recovery copy.
        end_process_later()
        self.exit(TERMINAL_GONE_EXIT, return_code=TERMINAL_GONE_EXIT)

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
        from autotrain_tui.ui.commands import app_commands

        yield from super().get_system_commands(screen)
        yield from app_commands(self)


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


def run(project_dir: Path) -> int:
    """Run the UI on `project_dir`; after it closes, say which runs keep running."""
    try:
        app = make_app(project_dir)
    except ManagerError as error:
        print(f"autotrain-tui: error: {error}", file=sys.stderr)
        return 1
    from autotrain_tui.ui.media_render import prepare_pixels

    prepare_pixels()  # asks the terminal before Textual owns it (only for Sixel / Kitty)
    app.run()
    live = app.live_runs()
    if live:
        ids = ", ".join(r.id for r in live[:3]) + (" …" if len(live) > 3 else "")
        with contextlib.suppress(OSError):  # the terminal may be gone
            print(
                f"autotrain-tui: {len(live)} run(s) keep running: {ids} "
                "(see `autotrain-tui runs`; reopen the UI to watch them)"
            )
    return exit_status(app)


def exit_status(app: AutotrainApp) -> int:
    """The UI process's exit status: non-zero whenever the UI died (Textual sets return code
    1 after an unhandled exception, while `run()` returns None as for a plain quit)."""
    if app.return_code:
        return app.return_code
    return int(app.return_value or 0)
