"""The help screen: every key, from `autotrain_tui.ui.keys`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from autotrain_tui.ui.keys import KEYS


class HelpScreen(ModalScreen[None]):
    """A table of keys; escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Label("autotrain-tui keys (escape closes)", classes="dialog-text")
            table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
            table.add_columns("key", "what", "where")
            for key in KEYS:
                table.add_row(key.keys, key.what, key.where)
            yield table

    def action_close(self) -> None:
        self.dismiss(None)
