"""The `autotrain-tui` command line: every run-manager action, scriptable, over `Project`.

    autotrain-tui [PROJECT_DIR]                 the terminal UI
    autotrain-tui launch CONFIG [k=v ...] [--queue] [--gpus N]
    autotrain-tui sweep CONFIG k=a,b ...
    autotrain-tui runs [--json] [--status S] [--sweep ID]
    autotrain-tui logs RUN [-f] [-n N]
    autotrain-tui stop RUN... [--kill] [--grace S] [--no-wait]
    autotrain-tui resume RUN [--queue]
    autotrain-tui rm RUN...
    autotrain-tui clone RUN NAME
    autotrain-tui front RUN
    autotrain-tui queue [--max-concurrent N] [--gpu-memory-threshold MIB]
    autotrain-tui sweeps [--json]

A RUN is a run id or a unique prefix of one. Every subcommand takes `-C DIR` (the project,
default the current directory). A user mistake is one line on stderr and exit status 1
(2 for a usage error or an invalid config, whose `FILE:LINE:COL` lines are all printed).
`--json` output is documented in docs/cli-json.md and kept stable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from autotrain_tui.core.control import DEFAULT_GRACE_S
from autotrain_tui.core.errors import InvalidConfigError, ManagerError
from autotrain_tui.core.project import Project, SweepSummary
from autotrain_tui.core.queue import QueueSettings
from autotrain_tui.core.runs import RunRecord, RunStatus
from autotrain_tui.core.tail import LineTail

PROG = "autotrain-tui"
JSON_VERSION = 1
SUBCOMMANDS = (
    "launch",
    "sweep",
    "sweeps",
    "runs",
    "logs",
    "stop",
    "resume",
    "rm",
    "clone",
    "front",
    "queue",
)


class UsageError(Exception):
    """A command-line mistake argparse found; shown as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Launch and watch config-first training runs. "
        "With no subcommand (or a PROJECT_DIR) it opens the terminal UI.",
    )
    common = _Parser(add_help=False)
    common.add_argument(
        "-C",
        "--project",
        default=".",
        metavar="DIR",
        help="project directory (default: current directory)",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("launch", parents=[common], help="validate and start a run")
    p.add_argument("config")
    p.add_argument("overrides", nargs="*", metavar="k=v")
    p.add_argument("--queue", action="store_true", help="wait in the queue for free GPUs")
    p.add_argument("--gpus", type=int, help="GPUs to ask for (default: trainer.devices)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("sweep", parents=[common], help="queue a grid of runs (k=a,b ...)")
    p.add_argument("config")
    p.add_argument("overrides", nargs="+", metavar="k=a,b")
    p.add_argument("--gpus", type=int, help="GPUs per run (default: trainer.devices)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("sweeps", parents=[common], help="list sweeps")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("runs", parents=[common], help="list runs, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--status", action="append", choices=[s.value for s in RunStatus])
    p.add_argument("--sweep", help="only the runs of this sweep (id or prefix)")

    p = sub.add_parser("logs", parents=[common], help="print a run's stdout.log")
    p.add_argument("run")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until it ends")
    p.add_argument("-n", "--lines", type=int, help="only the last N lines first")

    p = sub.add_parser("stop", parents=[common], help="stop runs (SIGTERM, then SIGKILL)")
    p.add_argument("runs", nargs="*", metavar="RUN")
    p.add_argument("--sweep", help="stop every live run of this sweep")
    p.add_argument("--kill", action="store_true", help="SIGKILL at once")
    p.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE_S,
        metavar="S",
        help=f"seconds between SIGTERM and SIGKILL (default {DEFAULT_GRACE_S:g})",
    )
    p.add_argument("--no-wait", action="store_true", help="return once the signal is sent")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("resume", parents=[common], help="continue a run from last.ckpt")
    p.add_argument("run", nargs="?")
    p.add_argument("--sweep", help="resume every stopped, failed or lost run of a sweep")
    p.add_argument("--queue", action="store_true", help="wait in the queue for free GPUs")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("rm", parents=[common], help="delete finished runs")
    p.add_argument("runs", nargs="+", metavar="RUN")

    p = sub.add_parser("clone", parents=[common], help="copy a run's config to configs/NAME.yaml")
    p.add_argument("run")
    p.add_argument("name")

    p = sub.add_parser("front", parents=[common], help="move a queued run to the front")
    p.add_argument("run")

    p = sub.add_parser("queue", parents=[common], help="show or set the queue's limits")
    p.add_argument("--max-concurrent", type=int, metavar="N")
    p.add_argument(
        "--gpu-memory-threshold",
        type=float,
        metavar="MIB",
        help="a free GPU with more memory in use than this counts as taken",
    )
    p.add_argument("--json", action="store_true")
    return parser


def run_json(record: RunRecord) -> dict[str, Any]:
    """The stable JSON form of a run: `run.json`'s fields plus `run_dir` (absolute)."""
    data = record.to_json()
    data["run_dir"] = str(record.run_dir)
    return data


def sweep_json(summary: SweepSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "config": summary.config,
        "runs": list(summary.run_ids),
        "counts": dict(summary.counts),
        "created_at": summary.created_at,
    }


def _emit_json(payload: Any) -> None:
    print(json.dumps({"version": JSON_VERSION, **payload}, indent=2))


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def _print_table(records: Sequence[RunRecord]) -> None:
    now = time.time()
    rows = [("RUN", "STATUS", "GPUS", "AGE", "EXIT", "SWEEP")]
    for r in records:
        if r.gpus:
            gpus = ",".join(map(str, r.gpus))
        else:
            gpus = f"({r.gpus_requested})" if r.gpus_requested else "-"
        rows.append(
            (
                r.id,
                r.status.value,
                gpus,
                _age(now - r.created_at if r.created_at else None),
                "-" if r.exit_code is None else str(r.exit_code),
                r.sweep or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def _say(record: RunRecord) -> None:
    gpus = f" on GPU {','.join(map(str, record.gpus))}" if record.gpus else ""
    print(f"{record.id}  {record.status.value}{gpus}")


def _cmd_launch(project: Project, args: argparse.Namespace) -> int:
    record = project.launch(args.config, args.overrides, queue=args.queue, gpus=args.gpus)
    if args.json:
        _emit_json({"run": run_json(record)})
    else:
        _say(record)
    return 0


def _cmd_sweep(project: Project, args: argparse.Namespace) -> int:
    summary = project.sweep(args.config, args.overrides, gpus=args.gpus)
    if args.json:
        _emit_json({"sweep": sweep_json(summary)})
    else:
        counts = ", ".join(f"{n} {status}" for status, n in summary.counts)
        print(f"{summary.id}  {len(summary.run_ids)} runs ({counts})")
    return 0


def _cmd_sweeps(project: Project, args: argparse.Namespace) -> int:
    summaries = project.list_sweeps()
    if args.json:
        _emit_json({"sweeps": [sweep_json(s) for s in summaries]})
        return 0
    for s in summaries:
        counts = ", ".join(f"{n} {status}" for status, n in s.counts)
        print(f"{s.id}  {len(s.run_ids)} runs ({counts})")
    return 0


def _cmd_runs(project: Project, args: argparse.Namespace) -> int:
    statuses = [RunStatus(s) for s in args.status] if args.status else None
    sweep = project.resolve_sweep_id(args.sweep) if args.sweep else None
    records = project.list_runs(statuses, sweep=sweep)
    if args.json:
        _emit_json({"runs": [run_json(r) for r in records]})
    elif records:
        _print_table(records)
    return 0


def _cmd_logs(project: Project, args: argparse.Namespace) -> int:
    record = project.get_run(args.run)
    if args.lines is not None:
        tail, lines = LineTail.from_last_lines(record.stdout_log, max(0, args.lines))
    else:
        tail, lines = LineTail(record.stdout_log), []
    out = sys.stdout
    for line in lines:
        out.write(line + "\n")
    if not args.follow:
        for line in tail.read_lines():
            out.write(line + "\n")
        if tail.partial_line:
            out.write(tail.partial_line + "\n")
        return 0

    def ended() -> bool:
        try:
            return not project.get_run(record.id).is_live
        except ManagerError:
            return True

    for batch in tail.follow(until=ended):
        out.write("".join(line + "\n" for line in batch))
        out.flush()
    if tail.partial_line:
        out.write(tail.partial_line + "\n")
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
        _emit_json({"runs": [run_json(r) for r in records]})
    else:
        for record in records:
            _say(record)
    return 0


def _cmd_resume(project: Project, args: argparse.Namespace) -> int:
    if bool(args.run) == bool(args.sweep):
        raise UsageError(f"resume needs a RUN or --sweep, not both (see {PROG} resume --help)")
    if args.sweep:
        records = project.resume_sweep(args.sweep)
    else:
        records = [project.resume(args.run, queue=args.queue)]
    return _report_runs(records, args.json)


def _cmd_rm(project: Project, args: argparse.Namespace) -> int:
    ids = [project.resolve_run_id(ref) for ref in args.runs]
    for run_id in ids:
        project.remove(run_id)
        print(f"removed {run_id}")
    return 0


def _cmd_clone(project: Project, args: argparse.Namespace) -> int:
    path = project.clone_config(args.run, args.name)
    print(path.relative_to(project.root))
    return 0


def _cmd_front(project: Project, args: argparse.Namespace) -> int:
    _say(project.move_to_front(args.run))
    return 0


def _cmd_queue(project: Project, args: argparse.Namespace) -> int:
    settings = project.queue_settings
    if args.max_concurrent is not None or args.gpu_memory_threshold is not None:
        settings = QueueSettings(
            max_concurrent=(
                args.max_concurrent if args.max_concurrent is not None else settings.max_concurrent
            ),
            outside_memory_threshold_mib=(
                args.gpu_memory_threshold
                if args.gpu_memory_threshold is not None
                else settings.outside_memory_threshold_mib
            ),
        )
        project.set_queue_settings(settings)
    else:
        project.advance_queue()
    queued = sorted(project.list_runs(RunStatus.QUEUED), key=lambda r: (r.queue_order or 0.0, r.id))
    gpu_count = project.inventory.gpu_count()
    limit = settings.concurrency_limit(gpu_count)
    if args.json:
        _emit_json(
            {
                "settings": {
                    "max_concurrent": settings.max_concurrent,
                    "effective_max_concurrent": limit,
                    "outside_memory_threshold_mib": settings.outside_memory_threshold_mib,
                },
                "gpu_count": gpu_count,
                "queued": [run_json(r) for r in queued],
            }
        )
        return 0
    print(
        f"max concurrent runs: {limit}"
        f"{'' if settings.max_concurrent is not None else ' (default)'}; GPUs: {gpu_count}; "
        f"outside-use threshold: {settings.outside_memory_threshold_mib:g} MiB"
    )
    for position, record in enumerate(queued, 1):
        print(f"{position:>3}. {record.id}  ({record.gpus_requested} GPU)")
    return 0


_COMMANDS = {
    "launch": _cmd_launch,
    "sweep": _cmd_sweep,
    "sweeps": _cmd_sweeps,
    "runs": _cmd_runs,
    "logs": _cmd_logs,
    "stop": _cmd_stop,
    "resume": _cmd_resume,
    "rm": _cmd_rm,
    "clone": _cmd_clone,
    "front": _cmd_front,
    "queue": _cmd_queue,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `autotrain-tui` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0] not in SUBCOMMANDS and not args_list[0].startswith("-")):
        return _open_ui(args_list)
    try:
        args = _parser().parse_args(args_list)
        if args.command is None:
            return _open_ui([])
        project = Project(args.project)
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
    except ManagerError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
