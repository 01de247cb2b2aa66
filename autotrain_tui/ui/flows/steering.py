"""Steering the shown run from the dashboard: `L` sets the learning rate, `E` changes
max_epochs (each asks, showing the current value), `W` saves a checkpoint now.

Through `core.steering` (a command file in the run's control/); the recipe's
acknowledgement arrives within about a second and is shown as a notification; the change
lands on the loss curve as a marker at its step (the `control` event in metrics.jsonl).
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work

from autotrain_tui.core import steering
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord
from autotrain_tui.ui.flows.base import AppBase

ACK_TIMEOUT_S = 10.0


class SteeringFlow(AppBase):
    """The dashboard's steering keys."""

    def _steerable(self) -> RunRecord | None:
        shown = self.dashboard.record
        record = self.records.get(shown.id, shown) if shown else None
        if record is not None and not record.is_live:
            self.notify(f"{record.id} is {record.status.value}; only a running run is steered")
            return None
        return record

    def action_set_lr(self) -> None:
        record = self._steerable()
        if record is not None:
            history = self.dashboard.history
            now = history.last("lr") if history is not None else None
            shown = f"{now:.3g}" if now is not None else "unknown"
            question = f"Learning rate of {record.id} (now {shown}; x0.5: a factor)"
            self._steer(record, "lr", question, shown if now is not None else "")

    def action_extend_epochs(self) -> None:
        record = self._steerable()
        if record is not None:
            history = self.dashboard.history
            now = history.progress.max_epochs if history is not None else None
            question = f"max_epochs of {record.id} (now {now if now else 'unknown'})"
            self._steer(record, "max_epochs", question, str(now) if now else "")

    def action_save_now(self) -> None:
        record = self._steerable()
        if record is not None:
            self._steer(record, "checkpoint", None, "")

    @work(group="steering", name="steering", exit_on_error=False)
    async def _steer(self, record: RunRecord, word: str, question: str | None, value: str) -> None:
        text = word
        if question is not None:
            from autotrain_tui.ui.screens.prompt import PromptScreen

            answer = await self.push_screen_wait(PromptScreen(question, value))
            if answer is None or not answer.strip():
                return
            text = f"{word}={answer.strip()}"
        try:
            command, parsed = steering.parse_request(text)
            command_id = await asyncio.to_thread(steering.send, record, command, parsed)
        except ManagerError as error:
            self.notify(str(error), severity="error", timeout=8)
            return
        ack: Any = await asyncio.to_thread(
            steering.wait_ack, record, command_id, ACK_TIMEOUT_S, 0.05
        )
        if ack is None:
            self.notify(
                f"{record.id}: no acknowledgement within {ACK_TIMEOUT_S:g} s "
                f"(the command stays in control/)",
                severity="warning",
            )
            return
        message = f"{record.id}: {ack.describe(command)}"
        if ack.status == "applied":
            self.notify(message, timeout=6)
        else:
            self.notify(message, severity="error", timeout=8)
