"""The log panel: the run's `stdout.log` as it grows.

Textual's `Log` widget keeps a bounded number of lines (the whole log stays on disk) and
follows the end unless the user scrolled up; scrolling back to the bottom (or `end`)
follows again. When a flood outruns the screen, the tail worker hands over only the
newest lines and says how many it skipped, so the view never falls behind.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Log

MAX_LINES = 5_000


class LogPanel(Log):
    """A bounded, following log view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, highlight=False, id=id)
        self.skipped = 0

    def add_lines(self, lines: Sequence[str], skipped: int = 0) -> None:
        # Follow only while the user is at the bottom: reading back pauses the tail.
        follow = self.is_vertical_scroll_end or self.max_scroll_y == 0
        if skipped:
            self.skipped += skipped
            notice = f"… {skipped} lines skipped to keep up (all in stdout.log) …"
            self.write_line(notice, scroll_end=follow)
        if lines:
            self.write_lines(lines, scroll_end=follow)

    def reset(self) -> None:
        self.clear()
        self.skipped = 0
