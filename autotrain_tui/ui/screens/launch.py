"""The launch dialog: optional overrides (`k=v` separated by spaces), then launch now or
queue. A value with commas (`optimizer.lr=1e-3,3e-3`) makes it a sweep over the grid."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from autotrain_tui.core.sweep import split_values


@dataclass(frozen=True)
class LaunchRequest:
    """What the user asked for in the dialog."""

    overrides: tuple[str, ...]
    queue: bool

    @property
    def is_sweep(self) -> bool:
        # Top-level commas only: `model.hidden=[16,32]` is one list value, not a sweep.
        return any(len(split_values(item.partition("=")[2])) > 1 for item in self.overrides)


def parse_overrides(text: str) -> tuple[str, ...]:
    """Split the dialog's text like a shell would (quotes allowed)."""
    return tuple(shlex.split(text))


class LaunchScreen(ModalScreen[LaunchRequest | None]):
    """Dismisses with a LaunchRequest, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, config_name: str, value: str = "") -> None:
        super().__init__()
        self.config_name = config_name
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                f"Launch {self.config_name} with overrides:", classes="dialog-text", markup=False
            )
            yield Input(
                self.value,
                placeholder="trainer.max_epochs=5 optimizer.lr=1e-3,3e-3",
                id="overrides",
            )
            yield Label("k=a,b makes a sweep (queued)", classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Launch (enter)", variant="primary", id="launch")
                yield Button("Queue", id="queue")
                yield Button("Cancel", id="cancel")

    def _request(self, queue: bool) -> None:
        text = self.query_one("#overrides", Input).value
        try:
            overrides = parse_overrides(text)
        except ValueError as error:
            self.notify(f"cannot read the overrides: {error}", severity="error")
            return
        self.dismiss(LaunchRequest(overrides, queue))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._request(queue=False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self._request(queue=event.button.id == "queue")

    def action_cancel(self) -> None:
        self.dismiss(None)
