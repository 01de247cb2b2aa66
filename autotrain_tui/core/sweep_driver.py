"""The search sweep's driver: `python -m autotrain_tui.core.sweep_driver RUNS_DIR SWEEP_ID`.

One detached process per live search sweep (its own session; it forks once more so the
manager that started it reaps its parent at once and no zombie is left). It holds
`runs/.sweeps/<id>/driver.lock` while alive, so a second driver exits at once and a manager
can tell a dead driver by a free lock. It asks the Optuna study (a journal file beside the
lock) for points, launches each as an ordinary run through `Project` (the queue assigns
GPUs; at most `concurrency` trials live), follows each live trial's `metrics.jsonl`
(the monitored metric per validation epoch is an intermediate value at step epoch + 1), and
sends `prune` through the control channel when the pruner says so. When a run ends, the
study is told COMPLETE (the run's best monitored value), PRUNED or FAIL. On start it
reconciles what an earlier driver left (`sweep_reconcile`). The only module that imports
optuna: the UI and the CLI listings never pay for it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock
from optuna.trial import TrialState

from autotrain_tui.core import identity, search_sweep, steering, sweep_reconcile
from autotrain_tui.core.atomic import write_json_atomic
from autotrain_tui.core.errors import ManagerError
from autotrain_tui.core.project import Project
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.core.search_space import format_value, parse_param

POLL_S = 0.5
OVERRIDES_ATTR = "overrides"  # a trial's sampled params as override text, set before launch


@dataclass
class Follower:
    """Where the driver is in one live trial's metrics.jsonl, and what it reported."""

    offset: int = 0
    partial: bytes = b""
    reported: set[int] = field(default_factory=set)
    prune_sent: bool = False


def metric_values(lines: list[bytes], metric: str) -> list[tuple[int, float]]:
    """(epoch, value) of each metrics line that holds `metric`."""
    values = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        metrics = event.get("metrics") if isinstance(event, dict) else None
        if isinstance(metrics, dict) and isinstance(metrics.get(metric), int | float):
            values.append((int(event.get("epoch") or 0), float(metrics[metric])))
    return values


def best_value(metrics_path: Path, metric: str, mode: str) -> float | None:
    """The run's best monitored value over every validation in its metrics.jsonl."""
    try:
        lines = metrics_path.read_bytes().splitlines()
    except OSError:
        return None
    values = [v for _, v in metric_values(lines, metric)]
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


def make_pruner(spec: dict[str, Any]) -> optuna.pruners.BasePruner:
    name = spec.get("name")
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=int(spec["min_resource"]), reduction_factor=int(spec["reduction_factor"])
        )
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=int(spec["min_resource"]),
            max_resource=spec.get("max_resource") or "auto",
            reduction_factor=int(spec["reduction_factor"]),
        )
    return optuna.pruners.NopPruner()


def open_study(directory: Path, sweep: dict[str, Any]) -> optuna.Study:
    """The sweep's study in its journal file (created on the first start); the sampler is
    seeded with the seed plus the trials so far, so a restarted driver does not repeat the
    points its predecessor drew."""
    path = str(directory / search_sweep.STUDY_JOURNAL)
    storage = JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    study = optuna.create_study(
        study_name=str(sweep["id"]),
        storage=storage,
        direction="maximize" if sweep["mode"] == "max" else "minimize",
        pruner=make_pruner(sweep["pruner"]),
        load_if_exists=True,
    )
    seed = int(sweep.get("seed") or 0) + len(study.trials)
    study.sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    return study


class Driver:
    """One sweep's loop: reconcile, then ask, launch, follow, prune and tell until done."""

    def __init__(self, project: Project, directory: Path, sweep: dict[str, Any]) -> None:
        self.project = project
        self.directory = directory
        self.sweep = sweep
        self.id = str(sweep["id"])
        self.metric, self.mode = str(sweep["metric"]), str(sweep["mode"])
        self.params = [parse_param(f"{k}={v}") for k, v in sweep["space"].items()]
        self.study = open_study(directory, sweep)
        self.followers: dict[int, Follower] = {}

    # ---- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        self.reconcile()
        while True:
            if search_sweep.read_state(self.directory).get("stopped_at"):
                return  # `stop --sweep`: its runs are being stopped; resume starts a driver
            self.follow_all()
            asked = len(self.study.get_trials(deepcopy=False))
            while asked < int(self.sweep["trials"]) and len(self.followers) < int(
                self.sweep["concurrency"]
            ):
                self.ask_and_launch()
                asked += 1
            if asked >= int(self.sweep["trials"]) and not self.followers:
                search_sweep.write_state(self.directory, finished_at=time.time())
                return
            time.sleep(POLL_S)

    def runs_by_trial(self) -> dict[int, RunRecord]:
        runs = {}
        for record in self.project.list_runs(sweep=self.id):
            number = search_sweep.trial_number(record)
            if number is not None:
                runs[number] = record
        return runs

    def reconcile(self) -> None:
        runs = self.runs_by_trial()
        trials = self.study.get_trials(deepcopy=False)
        views = [
            sweep_reconcile.TrialView(
                t.number, t.state.name, isinstance(t.user_attrs.get(OVERRIDES_ATTR), dict)
            )
            for t in trials
        ]
        statuses = {n: r.status for n, r in runs.items()}
        paused = bool(search_sweep.read_state(self.directory).get("stopped_at"))
        for number, action in sweep_reconcile.plan(views, statuses, sweep_stopped=paused).items():
            if action == sweep_reconcile.FOLLOW:
                self.followers[number] = Follower()
            elif action == sweep_reconcile.LAUNCH:
                params = trials[number].user_attrs[OVERRIDES_ATTR]
                self.launch(number, params)
            elif action == sweep_reconcile.FAIL and number not in runs:
                self.study.tell(number, state=TrialState.FAIL)
            else:
                self.finish(number, runs[number])

    def ask_and_launch(self) -> None:
        trial = self.study.ask()
        params = {}
        for param in self.params:
            assert param is not None
            if param.kind == "choice":
                value: Any = trial.suggest_categorical(param.key, list(param.choices))
            elif param.kind == "int":
                value = trial.suggest_int(param.key, int(param.low), int(param.high))
            else:
                log = param.kind == "loguniform"
                value = trial.suggest_float(param.key, param.low, param.high, log=log)
            params[param.key] = format_value(param, value)
        trial.set_user_attr(OVERRIDES_ATTR, params)  # before the run exists: see reconcile
        self.launch(trial.number, params)

    def launch(self, number: int, params: dict[str, str]) -> None:
        try:
            search_sweep.launch_trial(self.project, self.sweep, number, params)
        except (ManagerError, OSError) as error:
            print(f"trial {number}: cannot launch: {error}", flush=True)
            self.study.tell(number, state=TrialState.FAIL)
            return
        self.followers[number] = Follower()

    # ---- following ---------------------------------------------------------------------------
    def follow_all(self) -> None:
        runs = self.runs_by_trial()
        for number in list(self.followers):
            record = runs.get(number)
            if record is None:  # removed by hand while it ran
                self.followers.pop(number)
                self.study.tell(number, state=TrialState.FAIL)
                continue
            self.read_metrics(number, record)
            if record.status.is_finished:
                self.finish(number, record)

    def read_metrics(self, number: int, record: RunRecord) -> None:
        follower = self.followers[number]
        try:
            with open(record.metrics_jsonl, "rb") as handle:
                handle.seek(follower.offset)
                data = handle.read()
        except OSError:
            return
        follower.offset += len(data)
        lines = (follower.partial + data).split(b"\n")
        follower.partial = lines.pop()  # a partial last line waits for its end
        frozen = self.study.get_trials(deepcopy=False)[number]
        trial = optuna.trial.Trial(self.study, frozen._trial_id)
        known = set(frozen.intermediate_values)
        for epoch, value in metric_values(lines, self.metric):
            step = epoch + 1  # the resource: epochs trained
            if step in known or step in follower.reported:
                continue
            follower.reported.add(step)
            trial.report(value, step)
            if not follower.prune_sent and record.is_live and trial.should_prune():
                self.prune(number, record, follower)

    def prune(self, number: int, record: RunRecord, follower: Follower) -> None:
        try:
            steering.send(record, "prune")
        except ManagerError as error:
            print(f"trial {number}: cannot prune {record.id}: {error}", flush=True)
            return
        follower.prune_sent = True
        print(f"trial {number}: pruning {record.id}", flush=True)

    def finish(self, number: int, record: RunRecord) -> None:
        """Tell the study how trial `number`'s run ended."""
        self.followers.pop(number, None)
        value = best_value(record.metrics_jsonl, self.metric, self.mode)
        if record.status is RunStatus.PRUNED:
            self.study.tell(number, state=TrialState.PRUNED)
        elif record.status is RunStatus.COMPLETED and value is not None:
            self.study.tell(number, value)
        else:
            self.study.tell(number, state=TrialState.FAIL)
        print(f"trial {number}: {record.id} {record.status.value} best={value}", flush=True)


def hold_lock(directory: Path) -> int | None:
    """The driver lock's fd, held until this process exits; None when another holds it."""
    fd = os.open(directory / search_sweep.DRIVER_LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autotrain_tui.core.sweep_driver")
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("sweep_id")
    parser.add_argument("--recipe-module", default="recipe")
    parser.add_argument("--foreground", action="store_true", help="do not detach (tests, debug)")
    args = parser.parse_args(argv)
    if not args.foreground and os.fork() > 0:
        os._exit(0)  # the starting manager reaps this parent; the child carries on alone
        # (managers start `python -m autotrain_tui.core.search_sweep`, which forks sooner)
    directory = search_sweep.sweep_dir(args.runs_dir, args.sweep_id)
    sweep = search_sweep.read_json(directory / search_sweep.SWEEP_JSON)
    if sweep is None:
        print(f"{directory / search_sweep.SWEEP_JSON}: missing or unreadable", flush=True)
        return 2
    fd = hold_lock(directory)
    if fd is None:
        return 0  # another driver has this sweep
    pid = os.getpid()
    write_json_atomic(
        directory / search_sweep.DRIVER_JSON,
        {
            "pid": pid,
            "start_ticks": identity.start_ticks(pid),
            "boot_id": identity.boot_id(),
            "started_at": time.time(),
        },
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    project = Project(args.runs_dir.parent, python=sys.executable, recipe_module=args.recipe_module)
    print(f"driver {pid} of {args.sweep_id} started", flush=True)
    Driver(project, directory, sweep).run()
    print(f"driver {pid} of {args.sweep_id} ended", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
