"""The editor pane: a config (YAML) or custom.py (Python) with live checking.

As the user types, a debounced quick check runs in a thread worker — the torch-free
`recipe.config.check_text` for YAML, `ast.parse` for Python — and its problems are marked
in the gutter and listed below with their line numbers (F8 jumps to the next). When the quick
check passes, the full `recipe check` (function references, custom.py) runs in another
worker on the recovery copy, so it sees exactly the text on screen — only in a trusted
project, since it imports the project's code (`autotrain_tui.core.trust`). Saving is atomic and
keeps the text exactly as typed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Label, OptionList, TextArea
from textual.widgets.option_list import Option

from autotrain_tui.core import trust
from autotrain_tui.core.errors import InvalidConfigError, ManagerError
from autotrain_tui.core.project import Project
from autotrain_tui.ui.editing import (
    CheckedInputs,
    DiskState,
    discard_recovery,
    recovery_path,
    save_text,
    write_recovery,
)
from autotrain_tui.ui.messages import FullChecked, QuickChecked
from autotrain_tui.ui.widgets.config_text_area import ConfigTextArea

QUICK_CHECK_DELAY_S = 0.3
_LOCATED = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<message>.*)$")


def quick_problems(text: str, path: Path, project_root: Path) -> list[tuple[int, int, str]]:
    """(line, col, message) for everything the fast, torch-free check finds in `text`."""
    if path.suffix == ".py":
        try:
            ast.parse(text, filename=path.name)
        except SyntaxError as error:
            return [(error.lineno or 1, error.offset or 1, error.msg)]
        return []
    from recipe.config import check_text  # torch-free by contract (tests check it)

    try:
        shown = str(path.relative_to(project_root))
    except ValueError:
        shown = str(path)
    problems = check_text(text, shown, project_dir=str(project_root))
    return [(p.position.line, p.position.col, p.message) for p in problems]


def parse_located(lines: list[str]) -> list[tuple[int, int, str]]:
    """`FILE:LINE:COL: message` lines as (line, col, message); others at line 1."""
    out = []
    for line in lines:
        match = _LOCATED.match(line)
        if match:
            out.append((int(match["line"]), int(match["col"]), match["message"]))
        else:
            out.append((1, 1, line))
    return out


class EditorPane(Vertical):
    """TextArea, a status line, and the problems list."""

    def __init__(self, project: Project, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.project = project
        self.path: Path | None = None
        self.saved_text = ""
        self.disk_state: DiskState | None = None
        self.generation = 0
        self.problems: list[tuple[int, int, str]] = []
        self.full_check: str = ""  # "", "checking", "ok", "failed", "untrusted"
        self._passed: tuple[int, CheckedInputs] | None = None  # generation, what it read
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label("no file open", id="editor-status")
        yield ConfigTextArea(id="editor-text")
        yield OptionList(id="problems")

    @property
    def text_area(self) -> ConfigTextArea:
        return self.query_one("#editor-text", ConfigTextArea)

    @property
    def text(self) -> str:
        return self.text_area.text

    @property
    def is_dirty(self) -> bool:
        return self.path is not None and self.text != self.saved_text

    @property
    def is_config(self) -> bool:
        return self.path is not None and self.path.suffix in (".yaml", ".yml")

    def display_name(self) -> str:
        if self.path is None:
            return ""
        try:
            return str(self.path.relative_to(self.project.root))
        except ValueError:
            return str(self.path)

    # ---- files ---------------------------------------------------------------------------

    def load(self, path: Path, text: str, *, buffer: str | None = None) -> None:
        """Show `path` whose saved content is `text`; `buffer` is a recovered unsaved edit."""
        self.path = path
        self.saved_text = text
        self.disk_state = DiskState.of(path)
        area = self.text_area
        area.language = "python" if path.suffix == ".py" else "yaml"
        area.load_text(text if buffer is None else buffer)
        area.move_cursor((0, 0))
        self.problems = []
        self.full_check = ""
        self._show_problems()
        self._check_now()

    def save(self) -> DiskState:
        """Write the buffer to the file atomically; the recovery copy goes."""
        assert self.path is not None
        text = self.text
        self.disk_state = save_text(self.path, text)
        self.saved_text = text
        discard_recovery(self.path)
        self._update_status()
        self._check_now()
        return self.disk_state

    def changed_on_disk(self) -> bool:
        return self.path is not None and DiskState.of(self.path) != self.disk_state

    def accept_disk_state(self) -> None:
        """Keep the buffer; stop reporting the current outside change."""
        if self.path is not None:
            self.disk_state = DiskState.of(self.path)

    # ---- checking ------------------------------------------------------------------------

    @on(TextArea.Changed, "#editor-text")
    def _text_changed(self) -> None:
        self.generation += 1
        self._update_status()
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(QUICK_CHECK_DELAY_S, self._check_now)

    def recheck(self) -> None:
        """Check the text again (something the check reads, custom.py, changed on disk)."""
        self._check_now()

    def _check_now(self) -> None:
        if self.path is None:
            return
        self.generation += 1
        self._quick_check(self.path, self.text, self.generation, self.is_dirty)

    @work(thread=True, exclusive=True, group="quick-check", name="quick check")
    def _quick_check(self, path: Path, text: str, generation: int, dirty: bool) -> None:
        # The recovery copy is kept in step with the buffer here, off the UI thread.
        if dirty:
            write_recovery(path, text)
        else:
            discard_recovery(path)
        problems = quick_problems(text, path, self.project.root)
        trusted = not problems and trust.is_trusted(self.project.root)
        self.post_message(QuickChecked(path, generation, problems, trusted))

    @on(QuickChecked)
    def _quick_checked(self, message: QuickChecked) -> None:
        message.stop()
        if message.path != self.path or message.generation != self.generation:
            return
        self.problems = message.problems
        if not self.problems and self.is_config and not message.trusted:
            self.full_check = "untrusted"  # the full check imports the project's code
        elif not self.problems and self.is_config:
            self.full_check = "checking"
            self._full_check(message.path, message.generation, self.is_dirty)
        else:
            self.full_check = ""
        self._show_problems()

    @work(thread=True, exclusive=True, group="full-check", name="full check")
    def _full_check(self, path: Path, generation: int, dirty: bool) -> None:
        target = recovery_path(path) if dirty and recovery_path(path).is_file() else path
        # Read before the check, so that a change made while it runs shows at launch.
        inputs = CheckedInputs.read(path, self.project.custom_py) if target == path else None
        if not trust.is_trusted(self.project.root):  # untrusted since the quick check
            self.post_message(FullChecked(path, generation, False, untrusted=True))
            return
        try:
            self.project.check_config(target)
        except InvalidConfigError as error:
            self.post_message(FullChecked(path, generation, False, list(error.messages)))
        except ManagerError as error:
            self.post_message(FullChecked(path, generation, False, [str(error)]))
        else:
            self.post_message(FullChecked(path, generation, True, inputs=inputs))

    @on(FullChecked)
    def _full_checked(self, message: FullChecked) -> None:
        message.stop()
        if message.path != self.path or message.generation != self.generation:
            return
        self._passed = None
        if message.untrusted:
            self.full_check = "untrusted"
            self._show_problems()
            return
        self.full_check = "ok" if message.ok else "failed"
        if message.ok and message.inputs is not None:
            self._passed = (message.generation, message.inputs)
        self.problems = parse_located(message.lines)
        self._show_problems()

    def passed_check(self) -> CheckedInputs | None:
        """What the last full check read, if it passed on the saved file with no edit since.

        A launch may skip its own check when the files still hold these bytes
        (`CheckedInputs.read`, off the UI thread).
        """
        passed = self._passed
        if passed is None or self.path is None or self.is_dirty or self.full_check != "ok":
            return None
        generation, inputs = passed
        return inputs if generation == self.generation else None

    # ---- problems ------------------------------------------------------------------------

    def _show_problems(self) -> None:
        listing = self.query_one("#problems", OptionList)
        listing.clear_options()
        for index, (line, col, message) in enumerate(self.problems):
            prompt = Text(no_wrap=True, overflow="ellipsis")
            prompt.append(f"{line}:{col} ", style="bold red")
            prompt.append(message)
            listing.add_option(Option(prompt, id=str(index)))
        listing.set_class(not self.problems, "-empty")
        self.set_class(bool(self.problems), "-problems")
        self.text_area.set_problem_lines({line for line, _, _ in self.problems})
        self._update_status()

    def _update_status(self) -> None:
        if self.path is None:
            return
        status = Text(self.display_name(), style="bold")
        if self.is_dirty:
            status.append(" ● modified", style="yellow")
        if self.problems:
            count = len(self.problems)
            status.append(f" · {count} problem{'s' if count != 1 else ''} (F8)", style="red")
        elif self.full_check == "checking":
            status.append(" · checking…", style="dim")
        elif self.full_check == "ok":
            status.append(" · ✔ valid", style="green")
        elif self.full_check == "untrusted":
            status.append(" · untrusted project: quick check only — T to trust", style="yellow")
        elif self.is_config and self.full_check == "":
            status.append(" · ✔ quick check", style="green")
        self.query_one("#editor-status", Label).update(status)

    def go_to_line(self, line: int) -> None:
        """The cursor at the start of `line` (1-based), centred, the editor focused."""
        area = self.text_area
        area.move_cursor((max(0, min(line, area.document.line_count) - 1), 0), center=True)
        area.focus()

    def jump_to_problem(self, index: int) -> None:
        line, col, _ = self.problems[index]
        area = self.text_area
        area.move_cursor((max(0, line - 1), max(0, col - 1)), center=True)
        area.focus()

    def next_problem(self) -> bool:
        """Move the cursor to the first problem after it (wrapping); False when none."""
        if not self.problems:
            return False
        row, _ = self.text_area.cursor_location
        ordered = sorted(range(len(self.problems)), key=lambda i: self.problems[i][:2])
        after = [i for i in ordered if self.problems[i][0] - 1 > row]
        self.jump_to_problem(after[0] if after else ordered[0])
        return True

    @on(OptionList.OptionSelected, "#problems")
    def _problem_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.jump_to_problem(int(event.option.id))
