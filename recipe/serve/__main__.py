"""`python -m recipe.serve RUN_DIR [--checkpoint best|last] [--host H] [--port N] ...`

Binds its socket itself (so `--port 0` picks a free port and the chosen one is known), then
prints one line, `serving RUN_DIR on http://HOST:PORT`, and writes `--address-file` (JSON:
url, host, port, pid) atomically once listening, for a manager that started it to find it.
SIGTERM (uvicorn's own handling) stops accepting, answers every request in flight, then
exits 0. A run that cannot be loaded exits 2 with its one-line reason.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys

from recipe import EXIT_CONFIG_ERROR, EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recipe.serve", description=__doc__)
    parser.add_argument("run_dir")
    parser.add_argument("--checkpoint", default="auto", choices=["best", "last"])
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: loopback only)"
    )
    parser.add_argument("--port", type=int, default=8000, help="0: any free port")
    parser.add_argument("--max-batch", type=int, default=32, help="samples per forward pass")
    parser.add_argument(
        "--max-wait-ms", type=float, default=5.0, help="how long a batch waits to fill"
    )
    parser.add_argument(
        "--queue-size", type=int, default=256, help="requests waiting; more are answered 503"
    )
    parser.add_argument("--address-file", help="write the URL here (JSON) once listening")
    return parser


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto named: asyncio turns Nagle's algorithm off only on sockets whose proto is TCP,
    # and accepted sockets inherit it; with proto 0, every reply on a keep-alive connection
    # waited ~40 ms for the client's delayed ACK (headers and body are two writes).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    for name, value in (("--max-batch", args.max_batch), ("--queue-size", args.queue_size)):
        if value < 1:
            print(f"{name} must be at least 1, got {value}", file=sys.stderr)
            return EXIT_CONFIG_ERROR
    if not os.path.isdir(args.run_dir):
        print(f"{args.run_dir}: no such run directory", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    os.environ["HF_HUB_OFFLINE"] = "1"  # as predict: weights only from this machine
    # Before torch loads OpenMP: idle OpenMP threads sleep instead of spinning, so the
    # threads reading requests and the event loop get the cores between forward passes.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from recipe.deferred_imports import defer_unused_imports

    defer_unused_imports()
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(
            f"--host {args.host} --port {args.port}: cannot listen there ({exc.strerror})",
            file=sys.stderr,
        )
        return EXIT_CONFIG_ERROR
    import uvicorn

    from recipe.io import atomic_write_bytes
    from recipe.serve.app import ServeOptions, ServerState, create_app

    options = ServeOptions(
        args.run_dir, args.checkpoint, args.max_batch, args.max_wait_ms, args.queue_size
    )
    state = ServerState(options)
    config = uvicorn.Config(create_app(state), log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)

    def give_up() -> None:
        server.should_exit = True

    state.on_load_failure = give_up
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    if args.address_file:
        record = {"url": url, "host": host, "port": port, "pid": os.getpid()}
        atomic_write_bytes(args.address_file, json.dumps(record).encode())
    print(f"serving {args.run_dir} on {url}")
    # uvicorn handles SIGTERM/SIGINT itself (stop accepting, answer what is in flight), then
    # re-raises the signal under the handlers it found: no-ops here, so a graceful stop
    # ends with exit status 0 rather than death by the signal it already honoured.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    server.run(sockets=[sock])
    return EXIT_CONFIG_ERROR if state.error else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
