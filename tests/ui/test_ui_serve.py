"""The dashboard's `w`: serve the shown run over HTTP (a real run, a real server), listed by
the core as `autotrain-tui servers` lists it, then stopped with nothing left."""

from __future__ import annotations

import json
from pathlib import Path

from autotrain_tui.core import servers
from autotrain_tui.core.groups import group_members
from autotrain_tui.core.runs import RunStatus
from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.widgets.run_header import RunHeader
from tests.helpers import wait_for
from tests.recipe.serve_helpers import request
from tests.ui.fixtures import FixedSampler
from tests.ui.test_ui_runs import SIZE, launch_with, notices, until


def header_text(app: object) -> str:
    header = app.query_one("#run-header", RunHeader)  # type: ignore[attr-defined]
    shown = header._shown
    return shown.plain if shown is not None else ""


async def test_w_serves_the_shown_run_on_a_loopback_port(ui_project: Path) -> None:
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3, sample_s=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config to open")
        run_id = await launch_with(pilot, app, "trainer.max_epochs=1")
        await until(
            pilot,
            lambda: app.records[run_id].status is RunStatus.COMPLETED,
            "the run to complete",
            s=240,
        )
        await pilot.press("w")
        notice = await until(
            pilot,
            lambda: next((n for n in notices(app) if n.startswith(f"serving {run_id} on")), None),
            "the server's notice",
            s=240,
        )
        # The dashboard lists the server with its URL and the requests it has served.
        [server] = servers.list_servers(ui_project / "runs")
        await until(pilot, lambda: "ready · 0 requests" in header_text(app), "server line", s=60)
        body = json.dumps({"inputs": [[1.0] * 64]}).encode()
        status, _ = request("POST", server.url + "/predict", body, "application/json")
        assert status == 200
        await until(pilot, lambda: "ready · 1 requests" in header_text(app), "the count", s=30)
        assert f"serving {server.url}" in header_text(app)
    [server] = servers.list_servers(ui_project / "runs")
    try:
        assert notice == (
            f"serving {run_id} on {server.url} (autotrain-tui servers stop {server.id})"
        )
        assert server.url.startswith("http://127.0.0.1:") and server.run == run_id
        wait_for(lambda: request("GET", server.url + "/ready")[0] == 200, what="/ready")
        status, meta = request("GET", server.url + "/metadata")
        assert (status, meta["run_id"]) == (200, run_id), json.dumps(meta)
    finally:
        servers.stop_server(ui_project / "runs", server.id)
    assert group_members(server.pgid) == []
    assert servers.list_servers(ui_project / "runs") == []
