"""The `autotrain-tui` argument parser: every subcommand, its options and their help.

Kept apart from the commands (cli.py) so the command line reads as one table. `-C DIR`
is accepted before the subcommand (`autotrain-tui -C proj runs`) and after it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from autotrain_tui.core.control import DEFAULT_GRACE_S
from autotrain_tui.core.runs import RunStatus

PROG = "autotrain-tui"
SUBCOMMANDS = (
    "check",
    "launch",
    "sweep",
    "sweeps",
    "runs",
    "logs",
    "control",
    "stop",
    "resume",
    "rm",
    "clone",
    "front",
    "queue",
    "trust",
    "serve",
    "servers",
)


class UsageError(Exception):
    """A command-line mistake argparse found; shown as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _count(minimum: int, why: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`, refused with the reason."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}{why}")
        return value

    return parse


SWEEP_EPILOG = """\
a grid (every combination):   sweep CONFIG optimizer.lr=1e-3,3e-3 model.hidden=[64],[128]
a search (--trials N): each item is fixed (k=v) or searched:
  k=choice(a,b,c)   one of the values (a plain k=a,b is a choice too)
  k=uniform(lo,hi)  a float;  k=loguniform(lo,hi)  a float, log scale (lo > 0)
  k=int(lo,hi)      a whole number, both bounds included
  sweep CONFIG --trials 12 --concurrency 2 optimizer.lr=loguniform(1e-4,1e-1) \\
        model.dropout=uniform(0,0.5) --metric val/acc
Optuna's TPE sampler picks the points; the pruner (asha: successive halving over epochs,
from --min-epochs by a factor --eta; hyperband; none) stops weak trials, which end `pruned`.
"""


def _trust_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust",
        action="store_true",
        help="trust this project's code first (remembered; see `autotrain-tui trust`)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Launch and watch config-first training runs. "
        "With no subcommand (or a PROJECT_DIR) it opens the terminal UI.",
    )
    parser.add_argument(
        "-C",
        "--project",
        default=".",
        metavar="DIR",
        help="project directory (default: current directory)",
    )
    common = _Parser(add_help=False)
    # SUPPRESS: a `-C` given before the subcommand is not reset by the subcommand's default.
    common.add_argument(
        "-C", "--project", default=argparse.SUPPRESS, metavar="DIR", help="project directory"
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser(
        "check",
        parents=[common],
        help="check a config: the full check imports project code; --quick does not",
    )
    p.add_argument("config")
    p.add_argument("overrides", nargs="*", metavar="k=v")
    p.add_argument(
        "--quick",
        action="store_true",
        help="only the torch-free check, which runs no project code (needs no trust)",
    )
    _trust_option(p)

    p = sub.add_parser("launch", parents=[common], help="validate and start a run")
    p.add_argument("config")
    p.add_argument("overrides", nargs="*", metavar="k=v")
    p.add_argument("--queue", action="store_true", help="wait in the queue for free GPUs")
    p.add_argument("--gpus", type=_count(0), help="GPUs to ask for (default: trainer.devices)")
    p.add_argument(
        "--slurm", action="store_true", help="submit to SLURM (the config's slurm: section)"
    )
    p.add_argument("--json", action="store_true")
    _trust_option(p)

    p = sub.add_parser(
        "sweep",
        parents=[common],
        help="queue a grid of runs (k=a,b ...), or search with --trials N",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=SWEEP_EPILOG,
    )
    p.add_argument("config")
    p.add_argument("overrides", nargs="+", metavar="k=a,b")
    p.add_argument("--gpus", type=_count(0), help="GPUs per run (default: trainer.devices)")
    p.add_argument("--slurm", action="store_true", help="submit the runs to SLURM")
    p.add_argument("--trials", type=_count(1), help="a search sweep of N trials (see below)")
    p.add_argument("--concurrency", type=_count(1), default=1, help="live trials at most (1)")
    p.add_argument("--pruner", choices=("asha", "hyperband", "none"), default="asha")
    p.add_argument("--min-epochs", type=_count(1), default=1, help="first rung, epochs (1)")
    p.add_argument("--eta", type=_count(2), default=3, help="reduction factor (3)")
    p.add_argument("--metric", default="val/loss", help="the metric searched (val/loss)")
    p.add_argument("--mode", choices=("min", "max"), help="default: max for acc/f1/iou…")
    p.add_argument("--seed", type=_count(0), default=0, help="the sampler's seed (0)")
    p.add_argument("--json", action="store_true")
    _trust_option(p)

    p = sub.add_parser("sweeps", parents=[common], help="list sweeps, or one sweep's trials")
    p.add_argument("sweep", nargs="?", help="a sweep (id or prefix): its table of trials")
    p.add_argument("--sort", metavar="COL", help="order by a column (trial, status, a param, …)")
    p.add_argument("--desc", action="store_true", help="with --sort: descending")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("runs", parents=[common], help="list runs, newest first")
    p.add_argument("--json", action="store_true")
    p.add_argument("--status", action="append", choices=[s.value for s in RunStatus])
    p.add_argument("--sweep", help="only the runs of this sweep (id or prefix)")

    p = sub.add_parser("logs", parents=[common], help="print a run's stdout.log")
    p.add_argument("run")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until it ends")
    p.add_argument("-n", "--lines", type=_count(0), metavar="N", help="only the last N lines")

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

    p = sub.add_parser("control", parents=[common], help="steer a running run (lr, save, ...)")
    p.add_argument("run")
    p.add_argument(
        "request",
        metavar="COMMAND",
        help="lr=3e-4 | lr=x0.5 | checkpoint | stop-epoch | max_epochs=20 | patience=5",
    )
    p.add_argument("--no-wait", action="store_true", help="return once the command is written")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="wait for the ack")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("resume", parents=[common], help="continue a run from last.ckpt")
    p.add_argument("run", nargs="?")
    p.add_argument("--sweep", help="resume every stopped, failed or lost run of a sweep")
    p.add_argument("--queue", action="store_true", help="wait in the queue for free GPUs")
    p.add_argument("--json", action="store_true")
    _trust_option(p)

    p = sub.add_parser("rm", parents=[common], help="delete finished runs")
    p.add_argument("runs", nargs="+", metavar="RUN")

    p = sub.add_parser("clone", parents=[common], help="copy a run's config to configs/NAME.yaml")
    p.add_argument("run")
    p.add_argument("name")

    p = sub.add_parser("front", parents=[common], help="move a queued run to the front")
    p.add_argument("run")

    p = sub.add_parser("queue", parents=[common], help="show or set the queue's limits")
    p.add_argument(
        "--max-concurrent",
        type=_count(1, " (0 would never start a run)"),
        metavar="N",
        help="most runs at once (at least 1)",
    )
    p.add_argument(
        "--gpu-memory-threshold",
        type=float,
        metavar="MIB",
        help="a free GPU with more memory in use than this counts as taken",
    )
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "trust",
        parents=[common],
        help="let this project's code run (check, launch, resume import it)",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--revoke", action="store_true", help="forget the decision")
    what.add_argument("--list", action="store_true", help="list trusted projects and files")
    p.add_argument(
        "--file",
        metavar="PATH",
        help="trust (or with --revoke forget) one code file outside the project, "
        "as it is now (a config's project.custom)",
    )
    p = sub.add_parser(
        "serve",
        parents=[common],
        help="serve a run over HTTP (FastAPI + uvicorn, in its own process group)",
    )
    p.add_argument("run")
    p.add_argument("--checkpoint", default="auto", choices=["best", "last"])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    p.add_argument("--port", type=_count(0), default=8000, help="default 8000; 0: any free port")
    p.add_argument("--max-batch", type=_count(1), default=32, help="samples per forward pass")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a batch waits")
    p.add_argument("--queue-size", type=_count(1), default=256, help="waiting requests; more: 503")
    p.add_argument("--json", action="store_true")
    _trust_option(p)

    p = sub.add_parser("servers", parents=[common], help="list servers, or stop one")
    p.add_argument("action", nargs="?", choices=["stop"], help="stop the server ID")
    p.add_argument("id", nargs="?", metavar="ID", help="a server's id (its pid) or URL")
    p.add_argument("--grace", type=float, default=10.0, metavar="S", help="SIGTERM to SIGKILL")
    p.add_argument("--json", action="store_true")
    return parser
