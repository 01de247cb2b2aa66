"""A code TextArea whose gutter marks the lines that have problems (red, with a dot)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.strip import Strip
from textual.widgets import TextArea

_MARK_STYLE = Style(color="white", bgcolor="red", bold=True)


class ConfigTextArea(TextArea):
    """TextArea with problem markers in the line-number gutter.

    Typing takes every printable key here, so the app's single-key bindings (`q`, `?`) do
    not act: the footer shows the keys that do while the editor has focus — ctrl+q, F1, and
    escape back to the sidebar. (The footer lists one key per action, this widget's first.)
    """

    BINDINGS = [
        # Priority like the app's own ctrl+q (which is the one that acts), so the footer
        # shows this one in place of the app's `q`.
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help", key_display="F1"),
        Binding("escape", "leave", "Sidebar"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            "",
            soft_wrap=False,
            tab_behavior="focus",
            show_line_numbers=True,
            theme="monokai",
            id=id,
        )
        self.indent_width = 2
        self._problem_lines: frozenset[int] = frozenset()

    async def action_quit(self) -> None:
        await self.app.run_action("quit")

    async def action_help(self) -> None:
        await self.app.run_action("help")

    def action_leave(self) -> None:
        """Back to the sidebar, where single keys act."""
        self.app.query_one("#configs").focus()

    def set_problem_lines(self, lines: set[int] | frozenset[int]) -> None:
        """Mark these 1-based lines in the gutter."""
        lines = frozenset(lines)
        if lines != self._problem_lines:
            self._problem_lines = lines
            self.refresh()

    @property
    def problem_lines(self) -> frozenset[int]:
        return self._problem_lines

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        if not self._problem_lines or not self.show_line_numbers or self.soft_wrap:
            return strip
        line = self.scroll_offset.y + y + 1
        if line not in self._problem_lines or line > self.document.line_count:
            return strip
        width = self.gutter_width
        label = f"{line:>{width - 2}}● "
        gutter = Strip([Segment(label, _MARK_STYLE)], width)
        return Strip.join([gutter, strip.crop(width)])
