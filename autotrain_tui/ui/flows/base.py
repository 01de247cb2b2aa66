"""What every flow of the app shares: the project, the runs known, the panes, and the
flows' entry points that other flows call.

The flows (polling, file flows, launching, run control, trusting) are mixins of `AppBase`,
combined into `AutotrainApp`; keeping the shared state here lets each flow be read on its
own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from textual.app import App
from textual.widgets import ContentSwitcher

from autotrain_tui.core.project import Project
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.ui.editing import DiskState
from autotrain_tui.ui.widgets.editor import EditorPane
from autotrain_tui.ui.widgets.sidebar import Sidebar

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel
    from textual.worker import Worker

    from autotrain_tui.core.sampler import SystemSnapshot
    from autotrain_tui.ui.run_summary import RunSummaries
    from autotrain_tui.ui.widgets.dashboard import RunDashboard


class Sampler(Protocol):
    """What the app needs of `SystemSampler` (tests pass a fixed one)."""

    def sample(self, runs: Iterable[RunRecord] = ()) -> SystemSnapshot: ...


class AppBase(App[int | None]):
    """The app's shared state and panes; the flows build on it."""

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
        self._copies_named: set[tuple[str, str]] = set()  # copied run dirs already named
        self._queue_problem: str | None = None  # the last one said, until it clears
        # Model servers seen by the last poll that looked (by run directory): while any is
        # up, every poll asks them; otherwise every QUEUE_EVERY polls look for new ones.
        self._serving: dict[str, list[str]] = {}
        # Where the launch dialog last chose to run (SLURM or here): the next launch, with
        # or without the dialog, runs there too, until the app closes.
        self.launch_on_slurm = False
        # custom.py as the poller last saw it (the editor's checks read it too)
        self._custom_seen: DiskState | None = DiskState.of(project.custom_py)
        self._panes_ready = asyncio.Event()  # the editor and the dashboard are mounted

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

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Textual's notification, markup off by default: messages name files and runs,
        and a name with brackets (`configs/a[/b].yaml`) read as markup killed the UI."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def live_runs(self) -> list[RunRecord]:
        return [r for r in self.records.values() if r.is_live]

    def refresh_configs(self) -> None:
        paths = self.project.list_configs()
        if self.project.custom_py.is_file():
            paths.append(self.project.custom_py)
        self.sidebar.show_configs(paths)

    def _shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project.root))
        except ValueError:
            return str(path)

    if TYPE_CHECKING:
        # Entry points one flow offers the others (defined in the flow named).

        def poll_runs(self) -> None: ...  # polling

        def _open_default_once(self) -> None: ...  # polling

        def sample_system(self) -> None: ...  # polling

        def open_file(  # file flows
            self, path: Path, *, quiet: bool = False, line: int | None = None
        ) -> Worker[None]: ...

        def open_default_config(self) -> None: ...  # file flows

        async def _settle_unsaved(self, doing: str) -> bool: ...  # file flows

        def show_run(self, record: RunRecord) -> None: ...  # run control

        async def ensure_trusted(self, doing: str) -> bool: ...  # trusting
