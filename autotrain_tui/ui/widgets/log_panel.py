"""The log panel: the run's `stdout.log` as it grows, with search.

Textual's `Log` widget keeps a bounded number of lines (the whole log stays on disk) and
follows the end unless the user scrolled up; scrolling back to the bottom (or `end`)
follows again. When a flood outruns the screen, the tail worker hands over only the
newest lines and says how many it skipped, so the view never falls behind.

Search (`/` or `ctrl+f` on the log) works over the lines the panel holds: every match is
highlighted, the view jumps to the newest one and `n` / `N` walk to older / newer ones
(as `?` and `n` do in `less`); `escape` on the log ends the search. Jumping pauses the
tail, like scrolling up does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.highlighter import Highlighter
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Log

MAX_LINES = 5_000
MATCH_STYLE = "bold black on yellow"


class MatchHighlighter(Highlighter):
    """Marks every case-insensitive occurrence of the search text."""

    def __init__(self, query: str) -> None:
        self.pattern = re.compile(re.escape(query), re.IGNORECASE)

    def highlight(self, text: Text) -> None:
        for match in self.pattern.finditer(text.plain):
            text.stylize(MATCH_STYLE, match.start(), match.end())


class LogPanel(Log):
    """A bounded, following, searchable log view."""

    BINDINGS = [
        Binding("slash,ctrl+f", "search", "Search", tooltip="Search the log"),
        Binding("n", "next_match", "Older match", show=False),
        Binding("N", "previous_match", "Newer match", show=False),
        Binding("escape", "end_search", "End search", show=False),
    ]

    @dataclass
    class SearchRequested(Message):
        """The user asked to search the log (the dashboard opens its search bar)."""

        query: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, highlight=False, id=id)
        self.skipped = 0
        self.following = True
        self.dropped = 0  # lines pruned from the top so far: keeps match positions absolute
        self.search_query = ""
        self.current_match: int | None = None  # absolute line number (index + dropped)

    def add_lines(self, lines: Sequence[str], skipped: int = 0) -> None:
        # Follow only while the user is at the bottom: reading back pauses the tail.
        follow = self.is_vertical_scroll_end or self.max_scroll_y == 0
        self.following = follow
        before = self.line_count + len(lines) + (1 if skipped else 0)
        batch = list(lines)
        if skipped:
            self.skipped += skipped
            batch.insert(0, f"… {skipped} lines skipped to keep up (all in stdout.log) …")
        if batch:  # one write: Log measures each batch's width in a worker of its own
            self.write_lines(batch, scroll_end=follow)
        self.dropped += max(0, before - self.line_count)
        if self.line_count >= MAX_LINES:
            # Once full, every write drops old lines and leaves the scroll offset where it
            # was, and Log repaints only the rows it thinks are new (past the end): the view
            # would freeze on the lines it last drew. Repaint the visible rows.
            self.refresh()

    def reset(self) -> None:
        self.clear()
        self.skipped = 0
        self.following = True
        self.dropped = 0
        self.search("")

    def on_resize(self, event: events.Resize) -> None:
        # A panel that shrinks (the chart mounted above it, a smaller terminal) keeps its
        # scroll offset; a log that was following the end must still show the last line.
        if self.following:
            self.scroll_end(animate=False, immediate=True)

    # ---- search ------------------------------------------------------------------------------

    def matches(self) -> list[int]:
        """Indexes (in the panel) of the lines that contain the search text."""
        if not self.search_query:
            return []
        wanted = self.search_query.lower()
        return [i for i, line in enumerate(self._lines) if wanted in line.lower()]

    def search(self, query: str) -> int:
        """Highlight `query` and jump to its newest match; the number of matches."""
        self.search_query = query
        self.highlight = bool(query)
        if query:
            self.highlighter = MatchHighlighter(query)
        self._render_line_cache.clear()
        self.refresh()
        found = self.matches()
        self.current_match = None
        if found:
            self._jump(found[-1])
        return len(found)

    def step_match(self, older: bool) -> tuple[int, int] | None:
        """Go to the next older (or newer) match, wrapping; (position from 1, count)."""
        found = self.matches()
        if not found:
            return None
        current = None if self.current_match is None else self.current_match - self.dropped
        if current is None:
            target = found[-1]
        elif older:
            earlier = [i for i in found if i < current]
            target = earlier[-1] if earlier else found[-1]
        else:
            later = [i for i in found if i > current]
            target = later[0] if later else found[0]
        self._jump(target)
        return found.index(target) + 1, len(found)

    def match_position(self) -> tuple[int, int]:
        """(position of the current match from 1, number of matches); (0, n) when none."""
        found = self.matches()
        if self.current_match is None or self.current_match - self.dropped not in found:
            return 0, len(found)
        return found.index(self.current_match - self.dropped) + 1, len(found)

    def _jump(self, index: int) -> None:
        self.current_match = index + self.dropped
        self.following = False
        self.scroll_to(y=max(0, index - self.size.height // 2), animate=False, immediate=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Without a search, n/N/escape belong to the app (n clones the run's config).
        if action in ("next_match", "previous_match", "end_search"):
            return bool(self.search_query)
        return True

    def action_search(self) -> None:
        self.post_message(self.SearchRequested(self.search_query))

    def action_next_match(self) -> None:
        self.step_match(older=True)

    def action_previous_match(self) -> None:
        self.step_match(older=False)

    def action_end_search(self) -> None:
        self.search("")
        self.scroll_end(animate=False)
        self.following = True
