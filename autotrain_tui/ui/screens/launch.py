"""The launch dialog: optional overrides (`k=v` separated by spaces), where to run (this
machine or SLURM), then launch now or queue. A value with commas (`optimizer.lr=1e-3,3e-3`)
makes it a sweep over the grid.

SLURM is offered only where `sbatch` is on PATH; elsewhere it is greyed, with a line that
says why. The scheduler is SLURM's queue, so `Queue` (this machine's GPU queue) is greyed
while SLURM is chosen.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from autotrain_tui.core.sweep import split_values


@dataclass(frozen=True)
class LaunchRequest:
    """What the user asked for in the dialog."""

    overrides: tuple[str, ...]
    queue: bool
    slurm: bool = False  # submit to SLURM instead of starting on this machine

    @property
    def is_sweep(self) -> bool:
        # Top-level commas only: `model.hidden=[16,32]` is one list value, not a sweep.
        return any(len(split_values(item.partition("=")[2])) > 1 for item in self.overrides)


def sbatch_missing() -> str | None:
    """Why SLURM cannot be chosen here (one line), or None when `sbatch` is on PATH."""
    if shutil.which("sbatch") is None:
        return "SLURM needs sbatch, which is not on PATH here"
    return None


def parse_overrides(text: str) -> tuple[str, ...]:
    """Split the dialog's text like a shell would (quotes allowed)."""
    return tuple(shlex.split(text))


class LaunchScreen(ModalScreen[LaunchRequest | None]):
    """Dismisses with a LaunchRequest, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, config_name: str, value: str = "", *, slurm: bool = False) -> None:
        """`slurm`: SLURM chosen at first (the session's last choice), if it can be."""
        super().__init__()
        self.config_name = config_name
        self.value = value
        self.no_slurm = sbatch_missing()
        self.slurm = slurm and self.no_slurm is None

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
            yield Label(self._sweep_hint(), classes="dialog-hint", id="sweep-hint")
            with Horizontal(id="run-on"):
                yield Label("Run on:", classes="dialog-label")
                with RadioSet(id="backend", compact=True):
                    yield RadioButton("this machine", value=not self.slurm, id="on-local")
                    yield RadioButton(
                        "SLURM", value=self.slurm, id="on-slurm", disabled=bool(self.no_slurm)
                    )
            if self.no_slurm:
                yield Label(self.no_slurm, classes="dialog-hint", id="slurm-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Launch (enter)", variant="primary", id="launch")
                yield Button("Queue", id="queue", disabled=self.slurm)
                yield Button("Cancel", id="cancel")

    def _sweep_hint(self) -> str:
        return f"k=a,b makes a sweep ({'submitted to SLURM' if self.slurm else 'queued'})"

    @on(RadioSet.Changed, "#backend")
    def _backend_changed(self, event: RadioSet.Changed) -> None:
        self.slurm = event.pressed.id == "on-slurm"
        self.query_one("#queue", Button).disabled = self.slurm
        self.query_one("#sweep-hint", Label).update(self._sweep_hint())

    def _request(self, queue: bool) -> None:
        text = self.query_one("#overrides", Input).value
        try:
            overrides = parse_overrides(text)
        except ValueError as error:
            self.notify(f"cannot read the overrides: {error}", severity="error")
            return
        self.dismiss(LaunchRequest(overrides, queue and not self.slurm, self.slurm))

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
