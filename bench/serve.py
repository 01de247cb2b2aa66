"""Requests per second and latency of `python -m recipe.serve`, micro-batching on vs off.

    python bench/serve.py [--requests 400] [--clients 1,8,32] [--max-batch 32]
        [--max-wait-ms 5] [--image-model resnet18] [--image-size 64] [--threads 0]

Trains two tiny runs in a scratch project (one epoch: what is measured is serving, not
accuracy): the digits MLP (64 numbers in, where HTTP and JSON dominate) and an image model
(timm `--image-model`, randomly initialised, on generated coloured shapes at
`--image-size`, whose single forward pass costs several milliseconds). For each run, a real
server on a free loopback port, once with batching (`--max-batch`, `--max-wait-ms`) and once
without (`--max-batch 1`: one forward pass per request), is driven by 1, 8 and 32
concurrent clients (threads, one keep-alive connection each), `--requests` requests in all
per point; each request is one sample (JSON numbers; base64 PNG for images). Prints
requests/s and p50/p99 latency per point, and the ratio batching/off at 32 clients (target
on the image model: >= 3x the requests/s, p99 no worse).

Then the forward pass alone, ONNX Runtime vs PyTorch, on the image model exported by
`python -m recipe export` (batch 1 and 32, median of 50).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], cwd: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return result.stdout


def prepare(project: Path, model: str, size: int) -> None:
    (project / "configs").mkdir(parents=True)
    (project / "configs" / "mlp.yaml").write_text(
        "data:\n  _target_: digits\nmodel:\n  _target_: mlp\n  hidden: [128]\n"
        "trainer:\n  max_epochs: 1\n"
    )
    (project / "configs" / "image.yaml").write_text(
        f"data:\n  _target_: image_folder\n  path: shapes\n  size: {size}\n"
        f"dataloader:\n  batch_size: 16\n  num_workers: 0\n"
        f"model:\n  _target_: timm\n  name: {model}\n"
        "trainer:\n  max_epochs: 1\n  limit_train_batches: 2\n  limit_val_batches: 1\n"
    )
    run(["-m", "recipe.vision.shapes", "shapes", "--per-class", "12", "--size", str(size)], project)
    for name in ("mlp", "image"):
        run(["-m", "recipe", "train", f"configs/{name}.yaml", "--run-dir", f"runs/{name}"], project)


class Server:
    def __init__(self, project: Path, run_dir: str, *options: str) -> None:
        address = project / f"address-{time.monotonic_ns()}.json"
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        command = [sys.executable, "-m", "recipe.serve", run_dir, "--port", "0"]
        self.process = subprocess.Popen(
            [*command, "--address-file", str(address), *options],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        while not address.exists():
            if self.process.poll() is not None:
                raise SystemExit(f"the server over {run_dir} did not start")
            time.sleep(0.05)
        self.url = urlparse(json.loads(address.read_text())["url"])
        while call(self.connect(), "GET", "/ready")[0] != 200:
            time.sleep(0.1)

    def connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=120)
        connection.connect()
        # http.client sends a POST's headers and body in two writes: with Nagle's algorithm
        # on, the body waits for the server's delayed ACK (~40 ms a request, all client-side).
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


def call(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def load(server: Server, bodies: list[bytes], clients: int, total: int) -> dict[str, float]:
    """`total` requests from `clients` threads, each on its own keep-alive connection."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def client() -> None:
        connection = server.connect()
        mine: list[float] = []
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            start = time.perf_counter()
            status, _ = call(connection, "POST", "/predict", bodies[index % len(bodies)])
            mine.append(time.perf_counter() - start)
            if status != 200:
                failures.append(status)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{len(failures)} requests failed: {sorted(set(failures))}")
    ordered = sorted(latencies)
    return {
        "rps": total / wall,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


def bodies_for(project: Path, name: str) -> list[bytes]:
    if name == "mlp":
        from sklearn.datasets import load_digits

        return [
            json.dumps({"inputs": [list(map(float, x))]}).encode() for x in load_digits().data[:64]
        ]
    files = sorted((project / "shapes").rglob("*.png"))[:32]
    return [
        json.dumps({"images": [{"data": base64.b64encode(f.read_bytes()).decode()}]}).encode()
        for f in files
    ]


def forward_times(project: Path) -> dict[str, dict[int, float]]:
    """Median forward time (ms) of the image model, PyTorch vs ONNX Runtime."""
    import numpy as np
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(
        str(project / "runs" / "image" / "export" / "model.onnx"),
        providers=["CPUExecutionProvider"],
    )
    os.chdir(project)
    sys.path.insert(0, str(ROOT))
    from recipe.loaded_run import load_run

    model = load_run("runs/image").model
    shape = json.loads((project / "runs" / "image" / "predict.json").read_text())["preprocess"][
        "input_shape"
    ]
    figures: dict[str, dict[int, float]] = {"pytorch": {}, "onnxruntime": {}}
    for batch in (1, 32):
        x = torch.randn(batch, *shape)
        runs = {
            "pytorch": lambda x=x: model(x),
            "onnxruntime": lambda x=x: session.run(None, {"input": x.numpy()}),
        }
        for name, step in runs.items():
            with torch.inference_mode():
                step()
                times = []
                for _ in range(50):
                    start = time.perf_counter()
                    step()
                    times.append(time.perf_counter() - start)
            figures[name][batch] = 1000 * float(np.median(times))
    return figures


def main() -> None:
    # A stopped bench still stops its servers (they run in sessions of their own).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--image-model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--models", default="mlp,image", help="which of mlp,image to load")
    parser.add_argument("--forward-times", metavar="PROJECT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.forward_times:  # in a fresh process: no client threads, no server beside it
        print(json.dumps(forward_times(Path(args.forward_times))))
        return
    clients = [int(c) for c in args.clients.split(",")]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch:
        project = Path(scratch)
        print(f"training the digits MLP and {args.image_model} at {args.image_size} px ...")
        prepare(project, args.image_model, args.image_size)
        modes = {
            "batching": [
                "--max-batch",
                str(args.max_batch),
                "--max-wait-ms",
                str(args.max_wait_ms),
            ],
            "off": ["--max-batch", "1"],
        }
        models = args.models.split(",")
        for name in models:
            bodies = bodies_for(project, name)
            for mode, options in modes.items():
                server = Server(project, f"runs/{name}", "--queue-size", "1024", *options)
                try:
                    load(server, bodies, 4, 40)  # warm-up
                    for n in clients:
                        figures = load(server, bodies, n, args.requests)
                        results[f"{name}/{mode}/{n}"] = figures
                        print(
                            f"{name:5} {mode:8} {n:3} clients: {figures['rps']:7.1f} req/s  "
                            f"p50 {figures['p50_ms']:7.1f} ms  p99 {figures['p99_ms']:7.1f} ms",
                            flush=True,
                        )
                finally:
                    server.stop()
        top = max(clients)
        for name in models:
            on, off = results[f"{name}/batching/{top}"], results[f"{name}/off/{top}"]
            print(
                f"{name} at {top} clients: batching {on['rps'] / off['rps']:.2f}x the req/s of "
                f"one-at-a-time; p99 {on['p99_ms']:.1f} vs {off['p99_ms']:.1f} ms"
            )
        if "image" not in models:
            return
        run(["-m", "recipe", "export", "runs/image", "--format", "onnx"], project)
        timed = json.loads(run([str(Path(__file__).resolve()), "--forward-times", scratch], ROOT))
        for runtime, by_batch in timed.items():
            shown = ", ".join(f"batch {b}: {ms:.2f} ms" for b, ms in by_batch.items())
            print(f"{args.image_model} forward, {runtime}: {shown}")


if __name__ == "__main__":
    main()
