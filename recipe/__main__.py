"""Command line of the recipe: `python -m recipe check|train|predict|export`.

    python -m recipe check CONFIG [key.path=value ...]
    python -m recipe train CONFIG [key.path=value ...] [--run-dir DIR | --debug]
    python -m recipe train --resume RUN_DIR
    python -m recipe predict RUN_DIR INPUT [INPUT ...]
    python -m recipe export RUN_DIR --format onnx|torchscript [--checkpoint best|last] [--out PATH]
    python -m recipe weights CONFIG [key.path=value ...]   (the one command that downloads)

Exit status: 0 ok, 1 training failed, 2 invalid config or command line, 3 stopped,
4 requeue (under SLURM, after SIGUSR1: checkpoint saved, the batch script requeues the job),
5 pruned (a search sweep's `prune` control command: checkpoint saved).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import sys
import threading
from typing import NoReturn

from recipe import EXIT_CONFIG_ERROR, EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recipe", description="Train from one YAML config and custom.py."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate a config and print it resolved")
    check.add_argument("config", help="path to a YAML config, e.g. configs/digits.yaml")
    check.add_argument("overrides", nargs="*", help="key.path=value overrides")
    check.add_argument(
        "--grid",
        metavar="JSON",
        help="check many points at once (a sweep): a JSON list of override lists, each "
        "applied after OVERRIDES; prints nothing when every point is valid",
    )

    train = commands.add_parser("train", help="train a config into a run directory")
    train.add_argument("config", nargs="?", help="path to a YAML config")
    train.add_argument("overrides", nargs="*", help="key.path=value overrides")
    train.add_argument("--run-dir", help="run directory to write (default: a new one)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue a run from last.ckpt")
    train.add_argument(
        "--debug",
        action="store_true",
        help="one batch of training and one of validation in this process (no DataLoader "
        "workers, no DDP), into a scratch run directory under the system's temp directory: "
        "breakpoint() in custom.py or the recipe stops in this terminal",
    )

    predict = commands.add_parser("predict", help="run a trained model on new inputs")
    predict.add_argument("run_dir", help="a run directory with checkpoints")
    predict.add_argument("inputs", nargs="+", help="files (csv, npy, npz, images) or numbers")
    predict.add_argument(
        "--draw", metavar="DIR", help="also write each image input with its prediction drawn"
    )

    export = commands.add_parser(
        "export",
        help="write the trained model as ONNX or TorchScript (dynamic batch size) with its "
        "preprocessing spec beside it, verified against PyTorch on a few real inputs",
    )
    export.add_argument("run_dir", help="a run directory with checkpoints")
    export.add_argument("--format", required=True, choices=["onnx", "torchscript"])
    export.add_argument(
        "--checkpoint", default="auto", choices=["best", "last"], help="default: best, else last"
    )
    export.add_argument("--out", help="the model file to write (default: RUN_DIR/export/model.*)")

    weights = commands.add_parser(
        "weights",
        help="download the pretrained weights a config's model names into the library's "
        "cache (the only command that uses the network)",
    )
    weights.add_argument("config", help="path to a YAML config")
    weights.add_argument("overrides", nargs="*", help="key.path=value overrides")
    return parser


def main(argv: list[str] | None = None) -> int:
    # Line by line into stdout.log, as it happens, even when stdout is a file or a pipe.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    args = _parser().parse_args(argv)
    if args.command == "weights":
        from recipe.vision.fetch import fetch_weights

        return fetch_weights(args.config, args.overrides)
    # Pretrained weights come only from this machine's caches (recipe.vision.weights):
    # huggingface_hub reads this once, at import, and then never reaches the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    # Before anything imports Lightning or torchmetrics (the full check does, for a model
    # with freeze_epochs, say): what they would load for nothing waits until used.
    from recipe.deferred_imports import defer_unused_imports

    defer_unused_imports()
    if args.command == "check":
        from recipe.config import ConfigError
        from recipe.train import check_grid, dump_yaml, print_problems, validate

        if args.grid is not None:
            return check_grid(args.config, args.overrides, args.grid)
        try:
            config = validate(args.config, args.overrides)
        except ConfigError as exc:
            print_problems(exc.problems)
            return EXIT_CONFIG_ERROR
        sys.stdout.write(dump_yaml(config.data))
        return EXIT_OK
    if args.command == "train":
        from recipe.train import TrainRequest, train

        if args.resume and args.config:
            if "=" not in args.config:
                print(
                    "--resume RUN_DIR uses the run's own config: give no CONFIG "
                    "(overrides such as trainer.max_epochs=40 are fine)",
                    file=sys.stderr,
                )
                return EXIT_CONFIG_ERROR
            args.overrides.insert(0, args.config)
            args.config = None
        if args.debug and (args.resume or args.run_dir):
            print(
                "--debug writes a scratch run directory of its own: drop --resume/--run-dir",
                file=sys.stderr,
            )
            return EXIT_CONFIG_ERROR
        if not args.resume and not args.config:
            print("train needs a CONFIG (or --resume RUN_DIR)", file=sys.stderr)
            return EXIT_CONFIG_ERROR
        request = TrainRequest(args.config, args.overrides, args.run_dir, args.resume, args.debug)
        status = train(request)
        # The outcome is decided and recorded: a stop arriving during interpreter shutdown
        # must not turn a finished run into one killed by a signal.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        return status
    if args.command == "export":
        from recipe.export import export

        return export(args.run_dir, args.format, args.checkpoint, args.out)
    from recipe.predict import predict

    return predict(args.run_dir, args.inputs, draw=args.draw)


def exit_after_cleanup(status: int) -> NoReturn:
    """Exit with `status` once all the process's own clean-up ran, skipping module teardown.

    With torch and Lightning loaded (about 5,000 modules), CPython's shutdown spends about a
    second freeing module state that the operating system reclaims at once anyway — a second
    between a run's last checkpoint and its exit status, which the supervisor, the queue and
    the UI all wait for. Everything a normal exit does that matters still happens, in the
    same order: threading's exit hooks run and non-daemon threads are joined, atexit
    handlers run (Lightning's loggers, TensorBoard writers, DataLoader worker shutdown,
    logging, a user's own handlers), and the standard streams are flushed. Only the
    teardown of modules is skipped.
    """
    # As a normal exit does, threading's own exit hooks run before the join: they tell
    # thread pools (concurrent.futures', which torch.compile starts) to end their idle
    # non-daemon workers, which would otherwise wait for work forever and the join with them.
    for hook in reversed(getattr(threading, "_threading_atexits", [])):
        hook()
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    _end_daemon_children()
    atexit._run_exitfuncs()  # logging's own shutdown is one of them
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe or stream: nothing more can be said there.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


def _end_daemon_children() -> None:
    """SIGKILL the daemonic child processes still alive (DataLoader workers of an iterator
    a stop left mid-epoch, not yet collected).

    multiprocessing's atexit handler ends daemonic children with SIGTERM and then joins
    them; our workers ignore SIGTERM (a stop is the main process's to handle, see
    `recipe.data.loaders`), so that join would wait forever and a stopped run would be killed at
    the end of its grace period instead of exiting as stopped.
    """
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return
    # torch's SIGCHLD handler turns a worker's death into an error in this process; here
    # the deaths are ours and expected.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for child in multiprocessing.active_children():
        if child.daemon:
            child.kill()
            child.join(timeout=5)


if __name__ == "__main__":
    exit_after_cleanup(main())
