"""The control channel's file protocol: command names, their values, the files' names.

Torch-free, because both halves use it: the manager (`autotrain_tui.core.steering`) checks
a value before writing a command, and the recipe (`recipe.steering`) checks it again before
applying, with the same words. A command is a whitelist entry and a plain value, never code
or a config key: nothing a command file says is evaluated.

    runs/<id>/control/<time_ns>-<id>.json   {"id", "time", "command", "value"}  (manager)
    runs/<id>/control/acks.jsonl            {"id", "status", "reason", "step", "time", ...}
    runs/<id>/control/applied.jsonl         what was applied, at which step (resume replays it)
"""

from __future__ import annotations

import math
import re
from typing import Any

CONTROL_DIR = "control"
ACKS_FILE = "acks.jsonl"
APPLIED_FILE = "applied.jsonl"

LR = "lr"
CHECKPOINT = "checkpoint"
STOP = "stop"  # at the end of the epoch in progress
MAX_EPOCHS = "max_epochs"
PATIENCE = "patience"
# A search sweep's pruner ended the trial: stop at the next batch boundary like a stop
# (last.ckpt saved), but end `pruned` (exit 5), so the manager records the pruner's verdict.
PRUNE = "prune"
COMMANDS = (LR, CHECKPOINT, STOP, MAX_EPOCHS, PATIENCE, PRUNE)

LR_MIN = 1e-8
LR_MAX = 10.0
FACTOR_MIN = 1e-4
FACTOR_MAX = 1e4

APPLIED = "applied"
REJECTED = "rejected"
EXPIRED = "expired"

_FILE = re.compile(r"^(\d+)-([A-Za-z0-9_]+)\.json$")


class CommandError(ValueError):
    """A command or value the channel does not accept; the message says what would be."""


def command_file_name(time_ns: int, command_id: str) -> str:
    """`<time_ns>-<id>.json`: names sort in the order commands were sent."""
    return f"{time_ns}-{command_id}.json"


def parse_file_name(name: str) -> tuple[int, str] | None:
    """(time_ns, id) of a command file's name, or None for any other file (acks, temp files)."""
    match = _FILE.match(name)
    return (int(match.group(1)), match.group(2)) if match else None


def _number(text: Any, what: str) -> float:
    if isinstance(text, bool):
        raise CommandError(f"{what} must be a number, not {text!r}")
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise CommandError(f"{what} must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise CommandError(f"{what} must be a finite number, not {text!r}")
    return value


def _count(text: Any, what: str, minimum: int) -> int:
    if isinstance(text, bool) or (isinstance(text, float) and not text.is_integer()):
        raise CommandError(f"{what} must be a whole number, not {text!r}")
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise CommandError(f"{what} must be a whole number, not {text!r}") from None
    if value < minimum:
        raise CommandError(f"{what} must be at least {minimum}, not {value}")
    return value


def check_lr(value: float) -> None:
    """A learning rate inside the channel's bounds, or CommandError."""
    if not LR_MIN <= value <= LR_MAX:
        raise CommandError(f"lr {value:g} is outside {LR_MIN:g}..{LR_MAX:g}")


def normalize(command: Any, value: Any) -> Any:
    """The value `command` takes, from a JSON value or a command line's text.

    lr: a float in LR_MIN..LR_MAX, or a factor "x0.5" (the string kept, the product checked
    when applied); checkpoint, stop and prune: no value; max_epochs: a whole number >= 1;
    patience: a whole number >= 0.
    """
    if command not in COMMANDS:
        raise CommandError(f"unknown command {command!r}; the commands are {', '.join(COMMANDS)}")
    if command in (CHECKPOINT, STOP, PRUNE):
        if value not in (None, ""):
            raise CommandError(f"{command} takes no value (got {value!r})")
        return None
    if value is None or value == "":
        raise CommandError(f"{command} needs a value, e.g. {_EXAMPLE[command]}")
    if command == LR:
        if isinstance(value, str) and value.strip().lower().startswith("x"):
            factor = _number(value.strip()[1:], "the lr factor")
            if not FACTOR_MIN <= factor <= FACTOR_MAX:
                raise CommandError(
                    f"the lr factor {factor:g} is outside {FACTOR_MIN:g}..{FACTOR_MAX:g}"
                )
            return f"x{factor:g}"
        rate = _number(value, "lr")
        check_lr(rate)
        return rate
    if command == MAX_EPOCHS:
        return _count(value, "max_epochs", 1)
    return _count(value, "patience", 0)


_EXAMPLE = {LR: "lr=3e-4 or lr=x0.5", MAX_EPOCHS: "max_epochs=20", PATIENCE: "patience=5"}


def lr_factor(value: Any) -> float | None:
    """The factor of a relative lr value ("x0.5" -> 0.5), None for an absolute one."""
    return float(value[1:]) if isinstance(value, str) else None
