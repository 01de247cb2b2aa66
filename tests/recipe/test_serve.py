"""`python -m recipe.serve`: a real server on a free loopback port, real HTTP.

Tiny trained runs: the digits MLP (tabular), a CNN on the digit images (image files) and a
"gated" model from the project's custom.py whose loading and forward pass wait while a gate
file exists: so /ready before the load, a full queue and SIGTERM with requests in flight
are reached by the test's own steps, not by timing.
"""

from __future__ import annotations

import base64
import csv
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_project, recipe_env, run_recipe, wait_for
from tests.recipe.serve_helpers import Server, group_alive

pytestmark = pytest.mark.slow

FORMS = "multipart/form-data"
QUICK = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1"]

GATED_MODEL = '''

import os
import time
from pathlib import Path


def _wait_while(name):
    gates = os.environ.get("TEST_GATES")
    while gates and (Path(gates) / name).exists():
        time.sleep(0.02)


@register("gated")
class Gated(nn.Module):
    """A linear model whose loading waits while TEST_GATES/load exists, and whose forward
    pass says it started (TEST_GATES/entered) and waits while TEST_GATES/forward exists."""

    def __init__(self, input_shape, num_outputs):
        super().__init__()
        _wait_while("load")
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), num_outputs))

    def forward(self, x):
        gates = os.environ.get("TEST_GATES")
        if gates and (Path(gates) / "forward").exists():
            (Path(gates) / "entered").touch()
            _wait_while("forward")
        return self.net(x)
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project(tmp_path_factory.mktemp("serve") / "project")
    with (project / "custom.py").open("a") as handle:
        handle.write(GATED_MODEL)
    (project / "configs" / "gated.yaml").write_text(
        "data:\n  _target_: digits\nmodel:\n  _target_: gated\n"
    )
    (project / "configs" / "images.yaml").write_text(
        "data:\n  _target_: image_folder\n  path: examples/digit_images\n  size: 8\n"
        "dataloader:\n  num_workers: 0\nmodel:\n  _target_: cnn\n  channels: [8]\n"
    )
    for name, config in (("mlp", "digits"), ("images", "images"), ("gated", "gated")):
        result = run_recipe(
            ["train", f"configs/{config}.yaml", *QUICK, "--run-dir", f"runs/{name}"], project
        )
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return project


@pytest.fixture(scope="module")
def mlp_server(project: Path):  # type: ignore[no-untyped-def]
    server = Server("runs/mlp", project, "--max-batch", "8", "--max-wait-ms", "2")
    server.wait_ready()
    yield server
    assert server.stop() == 0


def digit_rows(project: Path, count: int) -> tuple[Path, list[dict[str, float]]]:
    """The first digits as a CSV with the feature columns, and the same rows as objects."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    names = [f"pixel_{i // 8}_{i % 8}" for i in range(64)]
    rows = [dict(zip(names, map(float, x), strict=True)) for x in digits.data[:count]]
    path = project / "digits.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    return path, rows


def predicted(project: Path, run: str, *inputs: str) -> list[dict[str, Any]]:
    result = run_recipe(["predict", run, *inputs], project)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def without_input(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "input"} for row in rows]


def test_metadata_names_the_run_its_input_and_its_checkpoint(
    project: Path, mlp_server: Server
) -> None:
    import hashlib

    status, meta = mlp_server.get("/metadata")
    assert status == 200
    assert meta["run_id"] == "mlp" and meta["task"] == "classification"
    assert meta["class_names"] == [str(d) for d in range(10)]
    assert meta["input"]["kind"] == "tabular" and meta["input"]["shape"] == [64]
    checkpoint = project / "runs" / "mlp" / "checkpoints" / meta["checkpoint"]
    assert meta["checkpoint"] == "best.ckpt"
    assert meta["checkpoint_sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert meta["monitor"] == {"metric": "val/acc", "mode": "max"}
    assert meta["batching"] == {"max_batch": 8, "max_wait_ms": 2.0, "queue_size": 256}
    status, health = mlp_server.get("/health")
    assert status == 200 and health["status"] == "ok" and health["ready"] is True


def test_tabular_predictions_equal_recipe_predict(project: Path, mlp_server: Server) -> None:
    path, rows = digit_rows(project, 5)
    expected = predicted(project, "runs/mlp", str(path))
    status, by_rows = mlp_server.post_json({"rows": rows})
    assert status == 200, by_rows
    assert without_input(by_rows["predictions"]) == without_input(expected)
    assert [r["input"] for r in by_rows["predictions"]] == [f"rows[{i}]" for i in range(5)]
    status, by_lists = mlp_server.post_json({"inputs": [list(r.values()) for r in rows]})
    assert status == 200, by_lists
    assert without_input(by_lists["predictions"]) == without_input(expected)


def test_concurrent_requests_are_answered_each_with_its_own_rows(
    project: Path, mlp_server: Server
) -> None:
    _, rows = digit_rows(project, 24)
    alone = mlp_server.post_json({"inputs": [list(r.values()) for r in rows]})[1]["predictions"]
    answers: dict[int, Any] = {}

    def ask(i: int) -> None:
        answers[i] = mlp_server.post_json({"inputs": [list(rows[i].values())]})

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(24):
        status, body = answers[i]
        assert status == 200
        assert without_input(body["predictions"]) == without_input([alone[i]])


def test_images_base64_and_multipart_equal_recipe_predict(project: Path) -> None:
    files = sorted((project / "examples" / "digit_images" / "3").iterdir())[:3]
    expected = predicted(project, "runs/images", *map(str, files))
    server = Server("runs/images", project)
    try:
        server.wait_ready()
        images = [
            {"data": base64.b64encode(f.read_bytes()).decode(), "name": str(f)} for f in files
        ]
        status, body = server.post_json({"images": images})
        assert status == 200, body
        assert body["predictions"] == expected  # the same rows, the input labels included
        status, body = server.post_files([("files", f.name, f.read_bytes()) for f in files])
        assert status == 200, body
        assert without_input(body["predictions"]) == without_input(expected)
        assert [r["input"] for r in body["predictions"]] == [f.name for f in files]
        # Every mistake is a 4xx naming the field.
        assert server.post_json({"images": [{"data": "not base64!"}]}) == (
            422,
            {"detail": "images[0].data: not valid base64"},
        )
        status, body = server.post_json({"images": [{"data": base64.b64encode(b"abc").decode()}]})
        assert status == 422 and body["detail"].startswith("images[0].data: cannot read this image")
        status, body = server.post_files([("files", "x.png", b"not a png")])
        assert status == 422 and body["detail"].startswith("files[0]: cannot read this image")
        status, body = server.post_files([("other", "x.png", files[0].read_bytes())])
        assert (status, body["detail"]) == (
            422,
            "other: unknown form field; send the images as `files`",
        )
        status, body = server.post_json({"inputs": [[1.0] * 64]})
        assert status == 422 and body["detail"].startswith("inputs: this model does not take it")
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"inputs": [[1.0, 2.0]]}, 422, "inputs[0]: 2 numbers, but the model takes (64,)"),
        ({"inputs": [["x"]]}, 422, "inputs[0][0]: Input should be a valid number"),
        ({"inputs": [[float("nan")] * 64]}, 422, "inputs[0][0]: Input should be a finite number"),
        ({"inputs": []}, 422, "inputs: an empty list; give at least one sample"),
        ({}, 422, "body: give exactly one of inputs, rows or images (got none)"),
        ({"inputs": [[1.0]], "rows": [{}]}, 422, "body: give exactly one of inputs, rows or"),
        ({"colour": 1}, 422, "colour: Extra inputs are not permitted"),
        ({"rows": [{"pixel_0_0": 1.0}]}, 422, "rows[0]: missing column(s) ['pixel_0_1',"),
        ({"images": [{"data": "AAAA"}]}, 422, "images[0]: this model does not take it"),
        ({"inputs": [[0.0] * 64] * 1025}, 422, "inputs: List should have at most 1024 items"),
        (b"{not json", 422, "body: Invalid JSON: key must be a string"),
        (b"[1, 2]", 422, "body: Input should be an object"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    mlp_server: Server, body: Any, status: int, detail: str
) -> None:
    got, answer = mlp_server.post_json(body)
    assert got == status, answer
    assert answer["detail"].startswith(detail), answer["detail"]


def test_wrong_content_type_and_unknown_paths_are_4xx(mlp_server: Server) -> None:
    from tests.recipe.serve_helpers import request

    assert request("POST", mlp_server.url + "/predict", b"1,2", "text/csv") == (
        415,
        {"detail": "content-type: text/csv not taken; send application/json or " + FORMS},
    )
    assert request("GET", mlp_server.url + "/nowhere")[0] == 404
    assert request("GET", mlp_server.url + "/predict")[0] == 405
    status, body = mlp_server.post_files([])
    assert status == 422 and body["detail"].startswith("files: no file uploaded")


@pytest.fixture
def gates(tmp_path: Path) -> Path:
    (tmp_path / "gates").mkdir()
    return tmp_path / "gates"


def test_ready_is_503_until_the_model_is_loaded(project: Path, gates: Path) -> None:
    (gates / "load").touch()
    server = Server("runs/gated", project, env=recipe_env() | {"TEST_GATES": str(gates)})
    try:
        assert server.get("/ready") == (503, {"ready": False, "detail": "loading the model"})
        assert server.get("/health")[1]["ready"] is False
        assert server.get("/metadata")[0] == 503
        assert server.post_json({"inputs": [[0.0] * 64]}) == (
            503,
            {"detail": "not ready: loading the model"},
        )
        (gates / "load").unlink()
        server.wait_ready()
        assert server.get("/ready") == (200, {"ready": True, "detail": None})
    finally:
        assert server.stop() == 0


def _in_background(server: Server, body: Any, into: list[Any]) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.append(server.post_json(body)))
    thread.start()
    return thread


def test_a_full_queue_is_answered_503_and_the_rest_are_served(project: Path, gates: Path) -> None:
    env = recipe_env() | {"TEST_GATES": str(gates)}
    server = Server("runs/gated", project, "--max-batch", "1", "--queue-size", "1", env=env)
    try:
        server.wait_ready()
        (gates / "forward").touch()
        answers: list[Any] = []
        first = _in_background(server, {"inputs": [[0.0] * 64]}, answers)
        wait_for(lambda: (gates / "entered").exists(), what="the first forward pass")
        second = _in_background(server, {"inputs": [[1.0] * 64]}, answers)
        wait_for(lambda: server.get("/health")[1]["queued"] == 1, what="one queued request")
        status, body = server.post_json({"inputs": [[2.0] * 64]})
        assert status == 503
        assert body == {"detail": "queue: full (1 requests); retry shortly"}
        (gates / "forward").unlink()
        first.join()
        second.join()
        assert [status for status, _ in answers] == [200, 200]
    finally:
        assert server.stop() == 0


def test_sigterm_answers_every_request_in_flight_then_exits(project: Path, gates: Path) -> None:
    env = recipe_env() | {"TEST_GATES": str(gates)}
    server = Server("runs/gated", project, "--max-batch", "1", env=env)
    server.wait_ready()
    (gates / "forward").touch()
    answers: list[Any] = []
    threads = [_in_background(server, {"inputs": [[float(i)] * 64]}, answers) for i in range(4)]
    wait_for(lambda: (gates / "entered").exists(), what="the first forward pass")
    wait_for(lambda: server.get("/health")[1]["queued"] == 3, what="three queued requests")
    server.process.send_signal(signal.SIGTERM)
    (gates / "forward").unlink()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [200] * 4
    assert all(len(body["predictions"]) == 1 for _, body in answers)
    assert server.process.wait(timeout=60) == 0
    assert not group_alive(server.pgid)


def test_a_run_that_cannot_load_exits_with_its_reason(project: Path) -> None:
    (project / "runs" / "empty").mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "recipe.serve", "runs/empty", "--port", "0"],
        cwd=project,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "runs/empty: no trained model here" in result.stdout + result.stderr
