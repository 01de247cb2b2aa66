"""The log's search bar: a one-line input under the log with the match count beside it.

It only edits the search text and reports it (`Changed` as the user types, `Stepped` on
enter, `Closed` on escape); the dashboard applies it to the log panel.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class LogSearchBar(Horizontal):
    """`search: [text]  3/17`; enter steps to the next older match, escape goes back."""

    BINDINGS = [Binding("escape", "close", "Back to the log")]

    @dataclass
    class Changed(Message):
        """The search text changed (as typed)."""

        query: str

    @dataclass
    class Stepped(Message):
        """Enter: go to the next (older) match."""

        query: str

    class Closed(Message):
        """Escape: back to the log, keeping the search."""

    def compose(self) -> ComposeResult:
        yield Label("search ", id="log-search-label")
        yield Input(placeholder="text in the log (enter: next, escape: back)", id="log-query")
        yield Label("", id="log-search-count")

    @property
    def input(self) -> Input:
        return self.query_one("#log-query", Input)

    def open(self, query: str) -> None:
        self.display = True
        self.input.value = query
        self.input.focus()

    def show_count(self, position: int, count: int) -> None:
        text = "no match" if not count else f"{position}/{count}" if position else f"{count}"
        self.query_one("#log-search-count", Label).update(text)

    @on(Input.Changed, "#log-query")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    @on(Input.Submitted, "#log-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Stepped(event.value))

    def action_close(self) -> None:
        self.display = False
        self.post_message(self.Closed())
