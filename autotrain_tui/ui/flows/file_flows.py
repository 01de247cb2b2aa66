"""File flows: opening a file in the editor (the start-up default, recovery copies, unsaved
edits), saving, outside changes on disk, and new configs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on, work
from textual.widgets import ContentSwitcher

from autotrain_tui.ui.editing import discard_recovery, read_recovery, save_text
from autotrain_tui.ui.flows.base import AppBase
from autotrain_tui.ui.messages import FileChangedOnDisk, OpenFileRequested

DEFAULT_CONFIG = "digits.yaml"


class FileFlows(AppBase):
    """The editor's files: open, save, reload, new."""

    def open_default_config(self) -> None:
        """The start-up open: the default config (else the first) into the editor, quietly."""
        default = self.project.configs_dir / DEFAULT_CONFIG
        configs = self.project.list_configs()
        if default.is_file():
            self.open_file(default, quiet=True)
        elif configs:
            self.open_file(configs[0], quiet=True)

    @on(OpenFileRequested)
    def _open_requested(self, message: OpenFileRequested) -> None:
        # The user chose a file: the start-up open of the default config no longer applies
        # (as an exclusive worker it would cancel this one, were it still reading).
        self._default_opened = True
        self.open_file(message.path)

    @work(group="open-file", exclusive=True, name="open file", exit_on_error=False)
    async def open_file(self, path: Path, *, quiet: bool = False, line: int | None = None) -> None:
        """Open `path` in the editor (asking about unsaved changes and recovery copies), the
        cursor at `line` (1-based) when given.

        `quiet` is the start-up open of the default config. It loads the editor but takes
        neither the main pane nor focus: focus stays in the sidebar (single keys act there),
        and a user who has already moved on (opened a run) while the file was read keeps
        their choice.
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
                if line is not None:
                    editor.go_to_line(line)
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
        self.sidebar.highlight_config(path)
        self.refresh_bindings()  # the footer's ctrl+s and ctrl+r now apply, focus or not
        # The start-up open leaves focus in the sidebar, where single keys (`?`, `q`) act
        # instead of being typed into the config.
        if not quiet:
            editor.text_area.focus()
        if line is not None:
            editor.go_to_line(line)

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
