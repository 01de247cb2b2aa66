"""`autotrain-tui serve RUN` and `autotrain-tui servers [stop ID]`: servers as managed
processes. A real run launched by the manager, a real server in its own process group,
recorded under runs/<id>/servers/, listed with its request count, stopped with zero
survivors; a dead server's record is cleaned by the next listing; trust is required."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import recipe_env, wait_for
from tests.recipe.serve_helpers import group_alive, request

pytestmark = pytest.mark.slow


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autotrain_tui.cli", *args],
        cwd=root,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def listed(project: Path) -> list[dict]:
    result = cli(project, "servers", "--json")
    assert result.returncode == 0, result.stderr
    servers: list[dict] = json.loads(result.stdout)["servers"]
    return servers


def test_a_server_is_started_listed_and_stopped_like_a_run(project: Path) -> None:
    launched = cli(project, "launch", "configs/digits.yaml", "trainer.max_epochs=1", "--trust")
    assert launched.returncode == 0, launched.stderr
    run = json.loads(cli(project, "runs", "--json").stdout)["runs"][0]["id"]
    wait_for(
        lambda: (
            json.loads(cli(project, "runs", "--json").stdout)["runs"][0]["status"] == "completed"
        ),
        timeout=240,
        what="the run to complete",
    )
    real = str(project.resolve())
    assert cli(project, "trust", "--revoke").returncode == 0
    refused = cli(project, "serve", run, "--port", "0")
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        f"autotrain-tui: error: serving runs/{run} would run this project's code"
    )
    assert f"{real} is not trusted yet" in refused.stderr
    assert not (project / "runs" / run / "servers").exists()

    started = cli(project, "serve", run, "--port", "0", "--max-batch", "4", "--trust")
    assert started.returncode == 0, started.stderr
    first, second = started.stdout.splitlines()
    assert first.startswith(f"serving {run} on http://127.0.0.1:")
    [server] = listed(project)
    pid, url = server["id"], server["url"]
    assert first == f"serving {run} on {url} (server {pid}, log runs/{run}/servers/{pid}.log)"
    assert second == f"stop it with: autotrain-tui servers stop {pid}"
    record = json.loads((project / "runs" / run / "servers" / f"{pid}.json").read_text())
    assert record["pgid"] == record["pid"] == int(pid) and record["host"] == "127.0.0.1"
    assert record["options"]["max_batch"] == 4
    wait_for(lambda: request("GET", url + "/ready")[0] == 200, what="/ready")
    assert (
        request(
            "POST",
            url + "/predict",
            json.dumps({"inputs": [[0.0] * 64]}).encode(),
            "application/json",
        )[0]
        == 200
    )
    [server] = listed(project)
    assert (server["ready"], server["requests_served"], server["run"]) == (True, 1, run)
    table = cli(project, "servers").stdout.splitlines()
    assert table[0].split() == ["ID", "URL", "RUN", "STATE", "REQUESTS"]
    assert table[1].split() == [pid, url, run, "ready", "1"]

    port = str(record["port"])
    taken = cli(project, "serve", run, "--port", port)
    assert (taken.returncode, taken.stdout) == (1, ""), taken.stderr
    assert taken.stderr == (
        f"autotrain-tui: error: the server over {run} did not start: --host 127.0.0.1 "
        f"--port {port}: cannot listen there (Address already in use)\n"
    )
    assert [s["id"] for s in listed(project)] == [pid]

    stopped = cli(project, "servers", "stop", pid)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f"stopped server {pid} ({url}, run {run})\n"
    assert not group_alive(int(pid))
    assert listed(project) == [] and cli(project, "servers").stdout == "no servers running\n"
    assert list((project / "runs" / run / "servers").iterdir()) == []
    again = cli(project, "servers", "stop", pid)
    assert (again.returncode, again.stderr) == (
        1,
        f"autotrain-tui: error: no server {pid!r} is running (see `autotrain-tui servers`)\n",
    )

    # A server that dies on its own (here: SIGKILL) leaves a record the next listing removes.
    crashed = cli(project, "serve", run, "--port", "0")
    assert crashed.returncode == 0, crashed.stderr
    [server] = listed(project)
    os.killpg(int(server["id"]), signal.SIGKILL)
    wait_for(lambda: not group_alive(int(server["id"])), what="the killed server to go")
    assert listed(project) == []
    assert list((project / "runs" / run / "servers").iterdir()) == []
