"""Steer a running run: write a command into its `control/`, wait for the recipe's ack.

The manager's end of the control channel (docs/run-directory.md, "Steering a live run").
Torch-free: the value checks are the recipe's own, from the torch-free
`recipe.steering_commands`, so a bad value is refused here with the words the recipe would
use, before anything is written. Only files: it works the same for a SLURM run on another
node, its run directory on the shared filesystem (no pid, no signal, nothing local-only).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autotrain_tui.core.atomic import write_json_atomic
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.runs import RunRecord, RunStatus
from recipe.steering_commands import (
    ACKS_FILE,
    CHECKPOINT,
    COMMANDS,
    CONTROL_DIR,
    LR,
    MAX_EPOCHS,
    PATIENCE,
    STOP,
    CommandError,
    command_file_name,
    normalize,
)

# What a user types (CLI, UI) -> the protocol's command.
_WORDS = {
    "lr": LR,
    "checkpoint": CHECKPOINT,
    "save": CHECKPOINT,
    "stop-epoch": STOP,
    "stop_epoch": STOP,
    "max_epochs": MAX_EPOCHS,
    "max-epochs": MAX_EPOCHS,
    "patience": PATIENCE,
}
USAGE = "lr=3e-4 | lr=x0.5 | checkpoint | stop-epoch | max_epochs=20 | patience=5"


@dataclass(frozen=True)
class Ack:
    """The recipe's acknowledgement of one command (a line of `control/acks.jsonl`)."""

    id: str
    status: str  # "applied" | "rejected" | "expired"
    reason: str | None
    step: int | None
    time: float | None
    value: Any = None

    def describe(self, command: str) -> str:
        """One line: what happened to the command."""
        if self.status == "applied":
            shown = (
                "" if self.value is None or command in (CHECKPOINT, STOP) else f" = {self.value:g}"
            )
            return f"{command}{shown}: applied after step {self.step}"
        return f"{command}: {self.status} at step {self.step}: {self.reason}"


def parse_request(text: str) -> tuple[str, Any]:
    """`lr=3e-4` -> ("lr", 0.0003); `stop-epoch` -> ("stop", None); ManagerError otherwise."""
    word, _, raw = text.partition("=")
    command = _WORDS.get(word.strip().lower())
    if command is None:
        raise ManagerError(f"unknown control command {word!r}; use one of: {USAGE}")
    try:
        return command, normalize(command, raw.strip() if "=" in text else None)
    except CommandError as error:
        raise ManagerError(f"{text}: {error}") from None


def send(record: RunRecord, command: str, value: Any = None) -> str:
    """Write one command for a running run; returns its id. The recipe applies it at a batch
    boundary within about a second (`wait_ack`)."""
    if record.status is not RunStatus.RUNNING:
        raise ManagerError(
            f"{record.id} is {record.status.value}: only a running run can be steered"
        )
    # A command older than the recipe's process is acked `expired`: send only once it exists.
    if record.backend == "slurm":
        state = record.slurm.state if record.slurm is not None else None
        if state != "RUNNING":
            raise ManagerError(
                f"{record.id}: its SLURM job is {state or 'not running yet'}; "
                "steer it once the job runs"
            )
    elif record.pid is None:
        raise ManagerError(f"{record.id} is starting; steer it once its recipe runs")
    try:
        value = normalize(command, value)
    except CommandError as error:
        raise ManagerError(str(error)) from None
    command_id = secrets.token_hex(6)
    directory = record.run_dir / CONTROL_DIR
    body = {"id": command_id, "time": time.time(), "command": command, "value": value}
    try:
        directory.mkdir(exist_ok=True)
        write_json_atomic(directory / command_file_name(time.time_ns(), command_id), body)
    except OSError as error:
        raise ManagerError(f"{directory}: cannot write the command ({error.strerror})") from None
    return command_id


def read_acks(run_dir: Path) -> dict[str, Ack]:
    """Every acknowledgement so far, by command id (a torn last line is skipped)."""
    try:
        lines = (run_dir / CONTROL_DIR / ACKS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    acks = {}
    for line in lines:
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            acks[data["id"]] = Ack(
                id=data["id"],
                status=str(data.get("status")),
                reason=data.get("reason"),
                step=data.get("step"),
                time=data.get("time"),
                value=data.get("value"),
            )
    return acks


def wait_ack(
    record: RunRecord, command_id: str, timeout_s: float = 10.0, poll_s: float = 0.1
) -> Ack | None:
    """The command's ack, or None after `timeout_s` (the command stays: a running recipe still
    applies it; a later resume acks it `expired`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        ack = read_acks(record.run_dir).get(command_id)
        if ack is not None or time.monotonic() >= deadline:
            return ack
        time.sleep(poll_s)


__all__ = ["COMMANDS", "USAGE", "Ack", "parse_request", "read_acks", "send", "wait_ack"]
