"""The control channel, recipe side: real runs on digits, commands written as the manager
writes them (the protocol's files), applied at batch boundaries and acknowledged.

To know the exact step a command lands at, the runs use a user callback from custom.py
(`gate`, below: real user code, the way a project adds a callback) that parks training after
chosen optimizer steps until the test releases it, and records every rank's learning rate
per step. With AUTOTRAIN_CONTROL_INTERVAL_S=0 the recipe reads control/ at every batch
boundary, so a command written while the run is parked after step K is applied after step
K+1 (the default, about once a second, is measured by bench/control_latency.py).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from recipe.steering_commands import command_file_name
from tests.helpers import read_metrics, recipe_env, wait_for

GATE = """

# ---- test only: park training after chosen steps, record each rank's lr -----------------
import os as _os
import json as _json
import time as _time

import pytorch_lightning as _pl


@register("gate")
class Gate(_pl.Callback):
    def __init__(self, directory: str, steps: list[int]) -> None:
        self.directory = directory
        self.steps = steps

    def on_train_batch_end(self, trainer, *args) -> None:
        step, rank = trainer.global_step, trainer.global_rank
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        with open(_os.path.join(self.directory, f"lr-rank{rank}.jsonl"), "a") as handle:
            handle.write(_json.dumps({"step": step, "lr": lr}) + "\\n")
        if step not in self.steps:
            return
        if rank == 0:
            open(_os.path.join(self.directory, f"parked-{step}"), "w").close()
        go = _os.path.join(self.directory, f"go-{step}")
        deadline = _time.monotonic() + 120
        while not _os.path.exists(go) and _time.monotonic() < deadline:
            _time.sleep(0.02)
"""

CONFIG = """\
project: {{name: steer, seed: 0}}
data: {{_target_: digits, val_fraction: 0.2}}
dataloader: {{batch_size: 64}}
model: {{_target_: mlp, hidden: [16]}}
optimizer: {{_target_: adamw, lr: 1.0e-2}}
scheduler: cosine
trainer:
  max_epochs: {epochs}
  log_every_n_steps: 1
  accelerator: cpu
  early_stopping_patience: 50
callbacks:
  - {{_target_: gate, directory: {gate}, steps: {steps}}}
"""

STEPS_PER_EPOCH = 23  # 1,437 training samples in batches of 64
BASE_LR = 1e-2


class Run:
    """A recipe process on the test's config, and the test's end of its control channel."""

    def __init__(self, project: Path, epochs: int, steps: list[int], extra: tuple = ()) -> None:
        self.project = project
        self.gate = project / "gate"
        self.gate.mkdir(exist_ok=True)
        with open(project / "custom.py", "a", encoding="utf-8") as handle:
            handle.write(GATE)
        config = CONFIG.format(epochs=epochs, gate=self.gate, steps=steps)
        (project / "configs" / "steer.yaml").write_text(config)
        self.dir = project / "runs" / "r"
        self.control = self.dir / "control"
        self.process = self.start(["configs/steer.yaml", *extra, "--run-dir", "runs/r"])

    def start(self, args: list[str]) -> subprocess.Popen[str]:
        env = recipe_env()
        env["AUTOTRAIN_CONTROL_INTERVAL_S"] = "0"
        return subprocess.Popen(
            [sys.executable, "-m", "recipe", "train", *args],
            cwd=self.project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def resume(self) -> None:
        self.process = self.start(["--resume", "runs/r"])

    def parked(self, step: int) -> None:
        wait_for(lambda: (self.gate / f"parked-{step}").exists(), what=f"step {step}")

    def release(self, step: int) -> None:
        (self.gate / f"go-{step}").touch()

    def send(self, command: str, value: object = None, sent: float | None = None) -> str:
        """What the manager writes: one file per command, written whole (temp + rename)."""
        command_id = uuid.uuid4().hex[:12]
        self.control.mkdir(exist_ok=True)
        sent = time.time() if sent is None else sent
        body = {"id": command_id, "time": sent, "command": command, "value": value}
        name = command_file_name(time.time_ns(), command_id)
        (self.control / f".{name}.tmp").write_text(json.dumps(body))
        os.replace(self.control / f".{name}.tmp", self.control / name)
        time.sleep(0.002)  # distinct time_ns: the files sort in the order sent
        return command_id

    def acks(self) -> dict[str, dict]:
        path = self.control / "acks.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return {ack["id"]: ack for ack in map(json.loads, lines)}

    def ack(self, command_id: str) -> dict:
        return wait_for(lambda: self.acks().get(command_id), what=f"ack of {command_id}")

    def finish(self) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=240)
        return self.process.returncode, output

    def lrs(self, rank: int = 0) -> dict[int, float]:
        lines = (self.gate / f"lr-rank{rank}.jsonl").read_text().splitlines()
        return {r["step"]: r["lr"] for r in map(json.loads, lines)}

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.communicate(timeout=60)


def cosine(step: int, total: int) -> float:
    return 0.5 * (1.0 + math.cos(math.pi * step / total))


def logged_lr(run_dir: Path) -> dict[int, float]:
    """The `lr` of metrics.jsonl by step: the rate the step `step` trained with."""
    return {
        r["step"]: r["metrics"]["lr"] for r in read_metrics(run_dir) if "lr" in r.get("metrics", {})
    }


def load_checkpoint(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)


@pytest.fixture
def runs() -> list[Run]:
    started: list[Run] = []
    yield started
    for run in started:
        run.kill()


def test_commands_apply_at_the_next_boundary_and_are_acknowledged(
    project: Path, runs: list[Run]
) -> None:
    run = Run(project, epochs=6, steps=[3, 8, 46])
    runs.append(run)
    run.parked(3)
    lr = run.send("lr", "x0.1")
    too_big = run.send("lr", 20)  # the manager refuses it too; the recipe checks again
    unknown = run.send("eval", "print(1)")
    patience = run.send("patience", 7)
    save = run.send("checkpoint")
    run.release(3)

    # Each applied after optimizer step 4: step 5 is the first to use the new rate.
    for command_id in (lr, patience, save):
        assert run.ack(command_id)["status"] == "applied"
        assert run.ack(command_id)["step"] == 4
    assert run.ack(too_big)["status"] == "rejected"
    assert run.ack(too_big)["reason"] == "lr 20 is outside 1e-08..10"
    assert run.ack(unknown)["status"] == "rejected"
    assert "unknown command 'eval'" in run.ack(unknown)["reason"]

    run.parked(8)
    assert load_checkpoint(run.dir / "checkpoints" / "last.ckpt")["global_step"] == 4
    shorten = run.send("max_epochs", 2)
    run.release(8)
    assert run.ack(shorten)["step"] == 9
    run.parked(46)  # the last step of the 2 epochs: no batch boundary is left
    late = run.send("lr", 1e-3)
    run.release(46)
    code, output = run.finish()
    assert run.ack(late)["status"] == "rejected"
    assert run.ack(late)["reason"] == "training ended before the next batch boundary"
    assert code == 0, output

    records = read_metrics(run.dir)
    end = records[-1]
    assert (end["event"], end["status"], end["step"]) == ("end", "completed", 46)
    assert end["max_epochs"] == 2 and end["total_steps"] == 46
    events = {r["id"]: r for r in records if r.get("event") == "control"}
    assert events[patience]["previous"] == 50 and events[patience]["value"] == 7
    assert events[lr]["step"] == 4 and events[lr]["value"] == pytest.approx(
        events[lr]["previous"] * 0.1
    )
    # The schedule continues from the new rate instead of undoing it: cosine over the
    # 138 steps planned at start, times 0.1 from step 5 on.
    logged = logged_lr(run.dir)
    for step, rate in logged.items():
        scale = 0.1 if step > 4 else 1.0
        assert rate == pytest.approx(BASE_LR * scale * cosine(step - 1, 138), rel=1e-6), step
    state = load_checkpoint(run.dir / "checkpoints" / "last.ckpt")["callbacks"]
    early = next(v for k, v in state.items() if k.startswith("EarlyStopping"))
    assert early["patience"] == 7
    applied = (run.control / "applied.jsonl").read_text().splitlines()
    assert [json.loads(line)["command"] for line in applied] == ["lr", "patience", "max_epochs"]


def test_resume_replays_the_history_and_expires_a_stale_command(
    project: Path, runs: list[Run]
) -> None:
    """Killed after a change it had not checkpointed: the resume re-applies it at the same
    step, sets max_epochs again (the trainer's checkpoint does not hold it), and a stop sent
    to the dead run is acknowledged `expired` instead of ending the resumed one."""
    run = Run(project, epochs=6, steps=[3, 8, 12, 30])
    runs.append(run)
    run.parked(3)
    extend = run.send("max_epochs", 3)
    run.send("checkpoint")
    run.release(3)
    run.parked(8)
    halve = run.send("lr", "x0.5")
    run.release(8)
    assert run.ack(halve)["step"] == 9
    run.parked(12)
    # Sent to the run just before it died (backdated a little: the process start is known
    # to a clock tick, 10 ms, and the resume below may start within that of the kill).
    stale = run.send("stop", sent=time.time() - 0.5)
    run.kill()  # SIGKILL while parked: nothing saved after step 4
    assert run.ack(extend)["step"] == 4
    assert stale not in run.acks()
    assert load_checkpoint(run.dir / "checkpoints" / "last.ckpt")["global_step"] == 4

    run.release(12)
    run.resume()
    run.parked(30)  # epoch 2 (index 1)
    below = run.send("max_epochs", 1)
    run.release(30)
    code, output = run.finish()
    assert code == 0, output

    assert run.ack(stale)["status"] == "expired"
    assert run.ack(below)["status"] == "rejected"
    assert run.ack(below)["reason"] == "max_epochs 1 is below the epoch in progress (2)"
    records = read_metrics(run.dir)
    assert (records[-1]["status"], records[-1]["step"], records[-1]["max_epochs"]) == (
        "completed",
        69,  # 3 epochs, as the command set before the checkpoint
        3,
    )
    starts = [i for i, r in enumerate(records) if r.get("event") == "start"]
    replayed = [r for r in records[starts[1] :] if r.get("event") == "control"]
    assert [(r["id"], r["step"], r["replayed"]) for r in replayed] == [(halve, 9, True)]
    for step, rate in logged_lr(run.dir).items():  # the resumed run's, for steps it redid
        scale = 0.5 if step > 9 else 1.0
        assert rate == pytest.approx(BASE_LR * scale * cosine(step - 1, 138), rel=1e-6), step


def test_ddp_ranks_apply_a_command_at_the_same_step(project: Path, runs: list[Run]) -> None:
    """Two DDP ranks on CPU: rank 0 reads, both apply after the same step, and a stop ends
    both at the epoch's end with a checkpoint, as `stopped`."""
    ddp = ("trainer.devices=2", "trainer.strategy=ddp")
    run = Run(project, epochs=3, steps=[3], extra=ddp)
    runs.append(run)
    run.parked(3)
    lr = run.send("lr", "x0.1")
    stop = run.send("stop")
    run.release(3)
    code, output = run.finish()
    assert code == 3, output
    assert run.ack(lr)["step"] == 4 and run.ack(stop)["step"] == 4
    assert (run.ack(lr)["status"], run.ack(stop)["status"]) == ("applied", "applied")

    rank0, rank1 = run.lrs(0), run.lrs(1)
    assert rank0 == rank1
    steps_per_epoch = 12  # 719 samples per rank in batches of 64
    assert max(rank0) == steps_per_epoch  # stopped at the end of the first epoch
    for step, rate in rank0.items():  # after step k the scheduler has stepped k times
        scale = 0.1 if step >= 4 else 1.0
        assert rate == pytest.approx(BASE_LR * scale * cosine(step, 36), rel=1e-6), step
    end = read_metrics(run.dir)[-1]
    assert (end["status"], end["step"], end["exit_code"]) == ("stopped", 12, 3)
    assert load_checkpoint(run.dir / "checkpoints" / "last.ckpt")["global_step"] == 12
    assert "stopped by a stop command" in output
