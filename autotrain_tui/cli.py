"""The `autotrain-tui` command line: every run-manager action, scriptable, over `Project`.

    autotrain-tui [PROJECT_DIR]                 the terminal UI
    autotrain-tui check CONFIG [k=v ...] [--quick] [--trust]
    autotrain-tui launch CONFIG [k=v ...] [--queue] [--gpus N] [--trust]
    autotrain-tui sweep CONFIG k=a,b ... [--trust]
    autotrain-tui sweep CONFIG k=loguniform(lo,hi) ... --trials N [--concurrency C]
    autotrain-tui runs [--json] [--status S] [--sweep ID]
    autotrain-tui logs RUN [-f] [-n N]
    autotrain-tui stop RUN... [--kill] [--grace S] [--no-wait]
    autotrain-tui control RUN lr=3e-4|lr=x0.5|checkpoint|stop-epoch|max_epochs=N|patience=N
                          [--json] [--no-wait] [--timeout S]
    autotrain-tui resume RUN [--queue] [--trust]
    autotrain-tui rm RUN...
    autotrain-tui clone RUN NAME
    autotrain-tui front RUN
    autotrain-tui queue [--max-concurrent N] [--gpu-memory-threshold MIB]
    autotrain-tui sweeps [--json] | sweeps SWEEP [--sort COL] [--desc] [--json]
    autotrain-tui trust [--revoke] [--list] [--file PATH]
    autotrain-tui serve RUN [--checkpoint best|last] [--host H] [--port N] [--max-batch N]
                            [--max-wait-ms M] [--queue-size Q] [--trust]
    autotrain-tui servers [--json] | servers stop ID

A RUN is the name of a run's directory under runs/, any unique part of it, or `latest`.
`-C DIR` names the project (default the current directory), before or after the
subcommand. A user mistake is one line on stderr and exit status 1 (2 for a usage error,
an untrusted project, or an invalid config, whose `FILE:LINE:COL` lines are all printed).
`--json` output is documented in docs/cli-json.md and kept stable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from autotrain_tui.cli_logs import print_log
from autotrain_tui.cli_output import (
    emit_json,
    print_table,
    problem_json,
    report_problems,
    run_json,
    say,
    sweep_json,
)
from autotrain_tui.cli_parser import PROG, SUBCOMMANDS, UsageError, build_parser
from autotrain_tui.cli_servers import cmd_serve, cmd_servers
from autotrain_tui.cli_settings import cmd_queue, cmd_trust
from autotrain_tui.cli_sweeps import cmd_sweep_trials
from autotrain_tui.core import steering, trust
from autotrain_tui.core.errors import InvalidConfigError, ManagerError, describe_os_error
from autotrain_tui.core.project import Project
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.core.search_space import is_search
from autotrain_tui.core.search_sweep import SweepSettings


def _trust_if_asked(project: Project, args: argparse.Namespace) -> None:
    if getattr(args, "trust", False):
        trust.trust_project(project.root)


def _cmd_check(project: Project, args: argparse.Namespace) -> int:
    _trust_if_asked(project, args)
    if args.quick:
        project.quick_check(args.config, args.overrides)
        print(f"{args.config}: ok (quick check: no project code ran)")
    else:
        project.check_config(args.config, args.overrides)
        print(f"{args.config}: ok")
    return 0


def _cmd_launch(project: Project, args: argparse.Namespace) -> int:
    _trust_if_asked(project, args)
    record = project.launch(
        args.config, args.overrides, queue=args.queue, gpus=args.gpus, slurm=args.slurm
    )
    if args.json:
        emit_json({"run": run_json(record)})
    else:
        say(record)
    return 0


def _cmd_sweep(project: Project, args: argparse.Namespace) -> int:
    _trust_if_asked(project, args)
    if args.trials is not None or is_search(args.overrides):
        return _search_sweep(project, args)
    summary = project.sweep(args.config, args.overrides, gpus=args.gpus, slurm=args.slurm)
    if args.json:
        emit_json({"sweep": sweep_json(summary)})
    else:
        counts = ", ".join(f"{n} {status}" for status, n in summary.counts)
        print(f"{summary.id}  {len(summary.run_ids)} runs ({counts})")
    return 0


def _search_sweep(project: Project, args: argparse.Namespace) -> int:
    if args.trials is None:
        raise UsageError("a search sweep (choice/uniform/loguniform/int) needs --trials N")
    settings = SweepSettings(
        trials=args.trials,
        concurrency=args.concurrency,
        pruner=args.pruner,
        min_epochs=args.min_epochs,
        eta=args.eta,
        metric=args.metric,
        mode=args.mode,
        seed=args.seed,
    )
    sweep_id = project.search_sweep(
        args.config, args.overrides, settings, gpus=args.gpus, slurm=args.slurm
    )
    if args.json:
        emit_json({"sweep": {**sweep_json(project.get_sweep(sweep_id)), "trials": args.trials}})
    else:
        print(f"{sweep_id}  {args.trials} trials, {args.concurrency} at a time ({args.pruner})")
    return 0


def _cmd_sweeps(project: Project, args: argparse.Namespace) -> int:
    if args.sweep:  # one sweep's trial table
        return cmd_sweep_trials(project, args)
    if args.sort:
        raise UsageError(f"--sort needs a SWEEP (see {PROG} sweeps --help)")
    summaries = project.list_sweeps()
    if args.json:
        emit_json({"sweeps": [sweep_json(s) for s in summaries]})
        return 0
    for s in summaries:
        counts = ", ".join(f"{n} {status}" for status, n in s.counts)
        print(f"{s.id}  {len(s.run_ids)} runs ({counts})")
    return 0


def _cmd_runs(project: Project, args: argparse.Namespace) -> int:
    statuses = [RunStatus(s) for s in args.status] if args.status else None
    sweep = project.resolve_sweep_id(args.sweep) if args.sweep else None
    listing = project.scan_runs(statuses, sweep=sweep)
    if args.json:
        emit_json(
            {
                "runs": [run_json(r) for r in listing.records],
                "problems": [problem_json(p) for p in listing.problems],
            }
        )
    elif listing.records:
        print_table(listing.records)
    elif not listing.problems:
        print(
            f"no runs{' match' if statuses or sweep else ' yet'} in {project.runs_dir}",
            file=sys.stderr,
        )
    report_problems(listing.problems)
    return 0


def _cmd_logs(project: Project, args: argparse.Namespace) -> int:
    name = project.resolve_run_id(args.run)
    record = project.get_run(name)

    def ended() -> bool:
        try:
            return not project.get_run(name).is_live
        except ManagerError:
            return True

    sys.stdout.flush()
    print_log(
        record.stdout_log,
        sys.stdout.buffer,
        lines=args.lines,
        follow_until=ended if args.follow else None,
    )
    return 0


def _cmd_stop(project: Project, args: argparse.Namespace) -> int:
    if not args.runs and not args.sweep:
        raise UsageError(f"stop needs a RUN or --sweep (see {PROG} stop --help)")
    records: list[RunRecord] = []
    if args.sweep:
        records += project.stop_sweep(
            args.sweep, kill=args.kill, grace_s=args.grace, wait=not args.no_wait
        )
    # Resolve every name first, so a typo stops nothing.
    ids = [project.resolve_run_id(ref) for ref in args.runs]
    for run_id in ids:
        if args.kill:
            records.append(project.kill(run_id, wait=not args.no_wait))
        else:
            records.append(project.stop(run_id, grace_s=args.grace, wait=not args.no_wait))
    return _report_runs(records, args.json)


def _report_runs(records: list[RunRecord], as_json: bool) -> int:
    """The runs as they stand after an action: `--json`, or one line each."""
    if as_json:
        emit_json({"runs": [run_json(r) for r in records]})
    else:
        for record in records:
            say(record)
    return 0


def _cmd_control(project: Project, args: argparse.Namespace) -> int:
    """Write one command into a running run's control/ and print the recipe's ack."""
    command, value = steering.parse_request(args.request)
    record = project.get_run(args.run)
    command_id = steering.send(record, command, value)
    ack = None if args.no_wait else steering.wait_ack(record, command_id, args.timeout)
    if args.json:
        shown = None if ack is None else {k: v for k, v in vars(ack).items()}
        emit_json(
            {"run": record.id, "id": command_id, "command": command, "value": value, "ack": shown}
        )
    elif ack is not None:
        print(f"{record.id}: {ack.describe(command)}")
    elif args.no_wait:
        print(f"{record.id}: {command} sent (id {command_id})")
    if ack is None and not args.no_wait:
        print(
            f"{PROG}: no acknowledgement from {record.id} within {args.timeout:g} s; the "
            f"command stays in control/ (id {command_id})",
            file=sys.stderr,
        )
        return 1
    return 0 if ack is None or ack.status == "applied" else 1


def _cmd_resume(project: Project, args: argparse.Namespace) -> int:
    if bool(args.run) == bool(args.sweep):
        raise UsageError(f"resume needs a RUN or --sweep, not both (see {PROG} resume --help)")
    _trust_if_asked(project, args)
    if args.sweep:
        records = project.resume_sweep(args.sweep)
    else:
        records = [project.resume(args.run, queue=args.queue)]
    return _report_runs(records, args.json)


def _cmd_rm(project: Project, args: argparse.Namespace) -> int:
    names = [project.resolve_run_id(ref) for ref in args.runs]
    for name in names:
        project.remove(name)
        print(f"removed {name}")
    return 0


def _cmd_clone(project: Project, args: argparse.Namespace) -> int:
    path = project.clone_config(args.run, args.name)
    print(path.relative_to(project.root))
    return 0


def _cmd_front(project: Project, args: argparse.Namespace) -> int:
    say(project.move_to_front(args.run))
    return 0


_COMMANDS = {
    "check": _cmd_check,
    "launch": _cmd_launch,
    "sweep": _cmd_sweep,
    "sweeps": _cmd_sweeps,
    "runs": _cmd_runs,
    "logs": _cmd_logs,
    "stop": _cmd_stop,
    "control": _cmd_control,
    "resume": _cmd_resume,
    "rm": _cmd_rm,
    "clone": _cmd_clone,
    "front": _cmd_front,
    "queue": cmd_queue,
    "trust": cmd_trust,
    "serve": cmd_serve,
    "servers": cmd_servers,
}


def _open_ui(argv: Sequence[str]) -> int:
    if len(argv) > 1:
        print(f"{PROG}: error: unknown command {argv[0]!r} (see {PROG} --help)", file=sys.stderr)
        return 2
    project_dir = Path(argv[0]) if argv else Path(".")
    if not project_dir.is_dir():
        print(
            f"{PROG}: error: no such command or project directory: {project_dir}", file=sys.stderr
        )
        return 2
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            f"{PROG}: error: the terminal UI needs a terminal (stdin and stdout are not one); "
            f"use a subcommand instead (see {PROG} --help)",
            file=sys.stderr,
        )
        return 2
    from autotrain_tui.ui import app

    result = app.run(project_dir)
    return int(result or 0)


def open_project(directory: str) -> Project:
    """The project in `directory`, or a ManagerError saying none is there and how to name one."""
    root = Path(directory)
    if not root.is_dir():
        raise ManagerError(f"no such project directory: {directory} (name a project with -C DIR)")
    if not ((root / "configs").is_dir() or (root / "runs").is_dir()):
        raise ManagerError(
            f"no project found in {root.resolve()} (it has no configs/ or runs/): "
            f"run {PROG} inside a project, or name one with -C DIR"
        )
    return Project(root)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `autotrain-tui` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0] not in SUBCOMMANDS and not args_list[0].startswith("-")):
        return _open_ui(args_list)
    try:
        args = build_parser().parse_args(args_list)
        if args.command is None:
            return _open_ui([args.project])
        if args.command == "trust" and (args.list or args.file):
            return cmd_trust(None, args)  # about the user's decisions, not one project
        project = open_project(args.project)
        return _COMMANDS[args.command](project, args)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except InvalidConfigError as error:
        for message in error.messages:
            print(message, file=sys.stderr)
        print(
            f"{PROG}: error: invalid config {error.config}; nothing was launched", file=sys.stderr
        )
        return 2
    except trust.UntrustedProjectError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except ManagerError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        # A read-only or full disk under an action: one line with the file and the fix.
        print(f"{PROG}: error: {describe_os_error(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
