"""`Steering`: the recipe's end of the control channel (recipe/steering_commands.py).

At batch boundaries, at most once every `interval_s`, rank 0 lists `control/` for command
files it has not handled, and under DDP broadcasts them, so every rank applies the same
commands after the same optimizer step. Rank 0 then acknowledges each in `acks.jsonl`,
writes a `control` event into metrics.jsonl, and records what it applied in
`applied.jsonl`, which a resume replays: state the checkpoint holds (the optimizer's and
scheduler's rates, early stopping's patience) is restored from it, state it does not
(`max_epochs`) is re-applied at start, and what was applied after the checkpoint's step
is applied again at the same step.

Files, not signals: SLURM owns SIGUSR1/2, and a file works across nodes on a shared
filesystem. A command older than this process is acknowledged `expired` (a stale stop never
ends a resumed run); ids already acknowledged are skipped (idempotent).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import EarlyStopping

from recipe.steering_commands import (
    ACKS_FILE,
    APPLIED,
    APPLIED_FILE,
    CHECKPOINT,
    CONTROL_DIR,
    EXPIRED,
    LR,
    MAX_EPOCHS,
    PATIENCE,
    PRUNE,
    REJECTED,
    STOP,
    CommandError,
    check_lr,
    lr_factor,
    normalize,
    parse_file_name,
)
from recipe.stopping import StopRequest

# Keys of an optimizer's param group that schedulers derive the rate from (OneCycleLR reads
# initial_lr, max_lr and min_lr; LambdaLR and the others keep `base_lrs`).
_RATE_KEYS = ("lr", "initial_lr", "max_lr", "min_lr")


def _read_jsonl(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn last line of a crashed writer
        if isinstance(record, dict):
            records.append(record)
    return records


def _append(path: str, record: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def poll_interval() -> float:
    """Seconds between two reads of control/: 1, or AUTOTRAIN_CONTROL_INTERVAL_S (the
    tests set 0, so a command lands at the first batch boundary after it is written)."""
    try:
        return max(0.0, float(os.environ.get("AUTOTRAIN_CONTROL_INTERVAL_S", "1")))
    except ValueError:
        return 1.0


def process_start_time() -> float:
    """This process's start (wall clock, to ~10 ms), so a command written while it imported
    torch counts. From its start ticks and CLOCK_BOOTTIME: psutil's create_time adds the
    boot time rounded to whole seconds, which could let a stale command through."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        since_start = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - since_start
    except (OSError, ValueError, IndexError):
        return time.time()


class Steering(pl.Callback):
    """Reads, applies and acknowledges control commands; replays the history on resume."""

    def __init__(
        self,
        run_dir: str,
        jsonl: Any,
        stop: StopRequest,
        last_path: str,
        *,
        resumed: bool,
        interval_s: float | None = None,
    ) -> None:
        self.dir = os.path.join(run_dir, CONTROL_DIR)
        self.jsonl = jsonl  # JsonlMetricsLogger: control events, max_epochs in each line
        self.stop = stop
        self.last_path = last_path
        self.resumed = resumed
        self.interval_s = interval_s if interval_s is not None else poll_interval()
        self.started = process_start_time()
        self._handled: set[str] = set()
        self._seen_files: set[str] = set()
        self._last_poll = float("-inf")
        self._last_poll_step = 0
        self._next_poll_step = 0  # DDP: the step all ranks read control/ at next
        self._ahead = 1  # DDP: steps between two reads, as last planned
        self._replay: list[dict[str, Any]] = []  # applied after the checkpoint: same steps
        self.stop_at_epoch_end = False

    # ---- Lightning hooks ---------------------------------------------------------------
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        history: list[dict[str, Any]] = []
        if trainer.is_global_zero:  # control/ exists once the manager has sent something
            self._handled = {str(a.get("id")) for a in _read_jsonl(self._path(ACKS_FILE))}
            if self.resumed:
                history = _read_jsonl(self._path(APPLIED_FILE))
        history = trainer.strategy.broadcast(history, src=0)
        step = trainer.global_step
        for entry in history:
            if not isinstance(entry.get("step"), int):
                continue
            if entry["step"] > step:
                self._replay.append(entry)
            elif entry.get("command") == MAX_EPOCHS:
                self._restore_max_epochs(trainer, entry)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        step = trainer.global_step
        while self._replay and self._replay[0]["step"] <= step:
            entry = self._replay.pop(0)
            self._apply(trainer, entry["id"], entry["command"], entry["value"], replay=True)
        for command in self._poll(trainer, step):
            self._apply(trainer, command["id"], command["command"], command["value"])

    def _poll(self, trainer: pl.Trainer, step: int) -> list[dict[str, Any]]:
        """The commands to apply after this batch: read about every `interval_s`.

        One process: by the clock. Under DDP the ranks must agree without a collective per
        batch, so each read (one broadcast) also fixes the step of the next one, from the
        steps per second rank 0 saw since the previous read: half an interval ahead (an epoch
        boundary's validation can make the next steps slower than the last ones), growing
        at most 2x a read (a run's first steps are not its typical ones)."""
        now = time.monotonic()
        if trainer.world_size == 1:
            if now - self._last_poll < self.interval_s:
                return []
            self._last_poll = now
            return self._read_new(trainer)
        if step < self._next_poll_step:
            return []
        payload: tuple[list[dict[str, Any]], int] = ([], step + 1)
        if trainer.is_global_zero:
            per_step = (now - self._last_poll) / max(1, step - self._last_poll_step)
            ahead = int(0.5 * self.interval_s / per_step) if per_step > 0 else 1
            self._ahead = max(1, min(2 * self._ahead, ahead))
            payload = (self._read_new(trainer), step + self._ahead)
            self._last_poll, self._last_poll_step = now, step
        commands, self._next_poll_step = trainer.strategy.broadcast(payload, src=0)
        return commands

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Commands that came too late are answered, not left waiting: a resume would only
        call them expired."""
        if trainer.is_global_zero:
            for command in self._read_new(trainer):
                why = "training ended before the next batch boundary"
                self._ack(trainer, command["id"], REJECTED, why, command=command["command"])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.stop_at_epoch_end:
            # The same outcome as SIGTERM: `train` saves last.ckpt and exits `stopped`.
            self.stop.requested = True
            self.stop.signal_name = "a stop command"
            trainer.should_stop = True

    # ---- reading ------------------------------------------------------------------------
    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def _read_new(self, trainer: pl.Trainer) -> list[dict[str, Any]]:
        """Rank 0: the commands to apply now, in the order sent; acks the others at once."""
        try:
            names = sorted(os.listdir(self.dir))
        except OSError:
            return []
        commands = []
        for name in names:
            parsed = parse_file_name(name)
            if parsed is None or name in self._seen_files:
                continue
            self._seen_files.add(name)
            command_id = parsed[1]
            try:
                with open(self._path(name), encoding="utf-8") as handle:
                    data = json.load(handle)
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as error:
                self._ack(trainer, command_id, REJECTED, f"{name}: unreadable ({error})")
                continue
            command_id = str(data.get("id") or command_id)
            if command_id in self._handled:
                continue
            sent = data.get("time")
            if not isinstance(sent, int | float) or sent < self.started:
                why = "sent before this process started (a stale command is never applied)"
                self._ack(trainer, command_id, EXPIRED, why)
                continue
            try:
                value = normalize(data.get("command"), data.get("value"))
            except CommandError as error:
                self._ack(trainer, command_id, REJECTED, str(error))
                continue
            commands.append({"id": command_id, "command": data["command"], "value": value})
        return commands

    def _ack(
        self, trainer: pl.Trainer, command_id: str, status: str, reason: str | None, **extra: Any
    ) -> None:
        self._handled.add(command_id)
        if not trainer.is_global_zero:
            return
        record = {
            "id": command_id,
            "status": status,
            "reason": reason,
            "step": trainer.global_step,
            "time": time.time(),
            **extra,
        }
        _append(self._path(ACKS_FILE), record)

    # ---- applying -------------------------------------------------------------------------
    def _apply(
        self, trainer: pl.Trainer, command_id: str, command: str, value: Any, replay: bool = False
    ) -> None:
        """Apply on every rank (the same state gives the same result); rank 0 records it."""
        try:
            previous, applied = self._change(trainer, command, value)
        except CommandError as error:
            if not replay:
                self._ack(trainer, command_id, REJECTED, str(error), command=command)
            return
        step, epoch = trainer.global_step, trainer.current_epoch
        self.jsonl.log_event(
            "control",
            step,
            epoch,
            id=command_id,
            command=command,
            value=applied,
            previous=previous,
            replayed=replay,
        )
        if replay or not trainer.is_global_zero:
            self._handled.add(command_id)
            return
        self._ack(trainer, command_id, APPLIED, None, command=command, value=applied)
        if command in (CHECKPOINT, STOP, PRUNE):
            return  # actions, not state: a resume does not repeat them
        entry = {"id": command_id, "command": command, "value": applied, "previous": previous}
        _append(self._path(APPLIED_FILE), {**entry, "step": step, "epoch": epoch})

    def _change(self, trainer: pl.Trainer, command: str, value: Any) -> tuple[Any, Any]:
        """(previous, new) of what `command` changed; CommandError when it cannot apply."""
        if command == LR:
            return self._set_lr(trainer, value)
        if command == CHECKPOINT:
            trainer.save_checkpoint(self.last_path, weights_only=False)  # collective under DDP
            return None, self.last_path
        if command == STOP:
            self.stop_at_epoch_end = True
            return None, trainer.current_epoch
        if command == PRUNE:
            # GracefulStop saves last.ckpt at the next batch boundary; `train` ends `pruned`.
            self.stop.pruned = True
            self.stop.requested = True
            self.stop.signal_name = "the sweep's pruner"
            return None, trainer.current_epoch
        if command == MAX_EPOCHS:
            running = trainer.current_epoch + 1
            if value < running:
                raise CommandError(f"max_epochs {value} is below the epoch in progress ({running})")
            previous = trainer.fit_loop.max_epochs
            self._set_max_epochs(trainer, value)
            return previous, value
        assert command == PATIENCE, command  # normalize() let nothing else through
        stopping = [c for c in trainer.callbacks if isinstance(c, EarlyStopping)]  # type: ignore[attr-defined]
        if not stopping:
            raise CommandError(
                "this run has no early stopping (trainer.early_stopping_patience is null)"
            )
        previous = stopping[0].patience
        for callback in stopping:
            callback.patience = value
        return previous, value

    def _set_lr(self, trainer: pl.Trainer, value: Any) -> tuple[float, float]:
        """Scale every param group's rates and every scheduler's base rates by one factor, so
        the ratios between groups stay and the schedule continues from the new rate."""
        optimizer = trainer.optimizers[0]
        current = float(optimizer.param_groups[0]["lr"])
        factor = lr_factor(value)
        target = current * factor if factor is not None else float(value)
        check_lr(target)
        if current <= 0.0:
            raise CommandError("the current lr is 0 (the schedule's end): nothing to scale")
        scale = target / current
        for opt in trainer.optimizers:
            for group in opt.param_groups:
                for key in _RATE_KEYS:
                    if isinstance(group.get(key), int | float):
                        group[key] = group[key] * scale
        for config in trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            if hasattr(scheduler, "base_lrs"):
                scheduler.base_lrs = [rate * scale for rate in scheduler.base_lrs]
            if isinstance(getattr(scheduler, "_last_lr", None), list):
                scheduler._last_lr = [rate * scale for rate in scheduler._last_lr]
        return current, target

    def _set_max_epochs(self, trainer: pl.Trainer, value: int) -> None:
        trainer.fit_loop.max_epochs = value
        self.jsonl.max_epochs = value
        total = trainer.estimated_stepping_batches
        self.jsonl.total_steps = int(total) if total != float("inf") else None

    def _restore_max_epochs(self, trainer: pl.Trainer, entry: dict[str, Any]) -> None:
        """A max_epochs applied before the checkpoint: the trainer does not keep it, so it
        is set again, unless the resume itself changed max_epochs (an override wins)."""
        if trainer.fit_loop.max_epochs == entry.get("previous"):
            self._set_max_epochs(trainer, int(entry["value"]))
        elif trainer.is_global_zero:
            print(
                f"control: max_epochs {entry['value']} (command {entry['id']}) not re-applied: "
                f"the resume set max_epochs {trainer.fit_loop.max_epochs}",
                flush=True,
            )
