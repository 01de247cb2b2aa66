"""SLURM runs in the runs list and the dashboard: the job id, a live job's state with its
reason and time left, the node, requeues and earlier jobs; local runs shown as before.

The SLURM records are written by the test and stand for what the SLURM backend writes at
submission and at each poll (tests/slurm_records.py); a run launched on the real test
cluster from the launch dialog is tests/slurm/test_slurm_ui.py.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, RadioButton, RadioSet

from autotrain_tui.core.slurm.record import SlurmInfo
from autotrain_tui.ui.app import AutotrainApp, make_app
from autotrain_tui.ui.screens.launch import LaunchScreen
from autotrain_tui.ui.slurm_text import time_left_s
from autotrain_tui.ui.widgets.run_header import RunHeader
from tests.slurm_records import make_slurm_run
from tests.ui.fixtures import NOW, T0, FixedSampler, write_run
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import notices, until

PENDING = "digits-20251125-095800-pppp"
RUNNING = "digits-20251125-095700-rrrr"
DONE = "digits-20251125-095600-dddd"
LOCAL = "digits-20251125-095500-llll"
INFO = SlurmInfo(job_id="4242", jobs=("4242",), cluster="test", state="PENDING")


def slurm_project(root: Path) -> AutotrainApp:
    pending = write_run(root, PENDING, "running", done=0, ended=False, started_at=T0 + 400)
    (pending / "metrics.jsonl").unlink()  # not started: nothing written yet
    make_slurm_run(pending, INFO.replace(reason="Resources", time_left="1:00:00"))
    running = write_run(root, RUNNING, "running", done=120, ended=False, started_at=T0 + 300)
    make_slurm_run(
        running,
        INFO.replace(
            job_id="4241",
            jobs=("4240", "4241"),
            state="RUNNING",
            node="node07",
            time_left="2:07:09",
            restarts=1,
        ),
    )
    done = write_run(root, DONE, "completed", started_at=T0 + 200)
    make_slurm_run(done, INFO.replace(job_id="4239", jobs=("4239",), state="RUNNING"))
    write_run(root, LOCAL, "completed", started_at=T0 + 100)
    return make_app(
        root, sampler=FixedSampler(gpus=False), clock=lambda: NOW, poll_s=0.2, open_default=False
    )


@pytest.mark.parametrize(
    ("squeue", "seconds"),
    [
        ("59:58", 3598.0),
        ("1:59:58", 7198.0),
        ("2-03:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5.0),
        ("5", 300.0),  # minutes, as SLURM reads a bare number
        ("UNLIMITED", None),
        ("NOT_SET", None),
        ("INVALID", None),
        ("", None),
        ("1:x", None),
    ],
)
def test_time_left_is_read_from_squeues_L_format(squeue: str, seconds: float | None) -> None:
    assert time_left_s(squeue) == seconds


def header(app: AutotrainApp) -> str:
    shown = app.dashboard.query_one(RunHeader)._shown
    return shown.plain if shown is not None else ""


async def test_the_runs_list_shows_jobs_and_pending_reasons(ui_project: Path) -> None:
    app = slurm_project(ui_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: "Runs (4)" in screen_text(app), "the runs listed")
        runs = app.sidebar.query_one("#runs")
        lines = {
            option.id: str(option.prompt).splitlines()
            for option in (runs.get_option_at_index(i) for i in range(runs.option_count))
        }
        # Pending: the scheduler's state and reason in place of progress; then its job.
        assert lines[PENDING][1].split()[:2] == ["PENDING", "(Resources)"]
        assert lines[PENDING][2].strip() == "slurm 4242"
        # Running with progress: progress as for a local run, the job with its time left.
        assert lines[RUNNING][1].split()[0] == "e7/10"
        assert lines[RUNNING][2].strip() == "slurm 4241 · 2h07m left"
        # Ended: the job id only (the last poll's state is stale); local: two lines as ever.
        assert lines[DONE][2].strip() == "slurm 4239"
        assert len(lines[LOCAL]) == 2 and "slurm" not in " ".join(lines[LOCAL])
        assert all(len(line) <= 30 for line in lines[PENDING] + lines[RUNNING])
        # The filter knows SLURM's words: the waiting jobs, all SLURM runs, a job id.
        app.sidebar.query_one("#filter").value = "pending"
        await until(pilot, lambda: "Runs (1/4)" in screen_text(app), "pending filtered")
        app.sidebar.query_one("#filter").value = "slurm"
        await until(pilot, lambda: "Runs (3/4)" in screen_text(app), "slurm filtered")
        app.sidebar.query_one("#filter").value = "4240"  # an earlier job of RUNNING
        await until(pilot, lambda: "Runs (1/4)" in screen_text(app), "job filtered")


async def test_the_dashboard_shows_the_job_state_node_time_left_and_requeues(
    ui_project: Path,
) -> None:
    app = slurm_project(ui_project)
    async with app.run_test(size=(160, 40)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.records) == 4, "the runs listed")
        app.show_run(app.records[RUNNING])
        await until(pilot, lambda: RUNNING in header(app), "the running job's header")
        assert header(app).splitlines()[1] == (
            "slurm 4241 · RUNNING · 2h07m left · node node07 · requeued 1× · "
            "earlier jobs 4240 · cluster test"
        )
        on_screen = "slurm 4241 · RUNNING · 2h07m left · node node07"
        await until(pilot, lambda: on_screen in screen_text(app), "the job's line on screen")
        app.show_run(app.records[PENDING])
        await until(pilot, lambda: PENDING in header(app), "the pending job's header")
        assert (
            header(app).splitlines()[1]
            == "slurm 4242 · PENDING (Resources) · limit 1h00m · cluster test"
        )
        app.show_run(app.records[DONE])
        await until(pilot, lambda: DONE in header(app), "the ended job's header")
        assert header(app).splitlines()[1] == "slurm 4239 · cluster test"
        app.show_run(app.records[LOCAL])
        await until(pilot, lambda: LOCAL in header(app), "the local run's header")
        assert "slurm" not in header(app) and len(header(app).splitlines()) == 3


async def test_slurm_is_greyed_with_a_reason_where_sbatch_is_missing(
    ui_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A PATH with Python's directory only: this machine's SLURM client tools are off it.
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert shutil.which("sbatch") is None
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), clock=lambda: NOW)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config open")
        app.launch_on_slurm = True  # chosen earlier: not possible here, so not offered
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen), "the launch dialog")
        await until(
            pilot,
            lambda: "SLURM needs sbatch, which is not on PATH here" in screen_text(app),
            "the reason on screen",
        )
        dialog = app.screen
        slurm = dialog.query_one("#on-slurm", RadioButton)
        assert slurm.disabled and not slurm.value
        assert dialog.query_one("#on-local", RadioButton).value
        assert not dialog.query_one("#queue", Button).disabled
        await pilot.press("tab")  # the keyboard reaches the choice, and cannot pick SLURM
        assert app.focused is dialog.query_one("#backend", RadioSet)
        await pilot.press("right", "space")
        assert not slurm.value
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LaunchScreen), "closed")
        # ctrl+r launches where the session last chose: not here, and it says why.
        await pilot.press("ctrl+r")
        await until(
            pilot,
            lambda: any("not launched: SLURM needs sbatch" in n for n in notices(app)),
            "why nothing launched",
        )
        assert not list((ui_project / "runs").glob("*"))


def test_slurm_dashboard_view(snap_compare, ui_project: Path) -> None:  # type: ignore[no-untyped-def]
    # The narrowest terminal: the list's job lines and the dashboard's job line fit 80x24.
    # Times relative to one start a few seconds ago (a live made-up job stays live), the
    # clock fixed ten minutes after it: the same picture on every run.
    start = time.time() - 5
    pending = write_run(ui_project, PENDING, "running", done=0, ended=False, started_at=start)
    (pending / "metrics.jsonl").unlink()
    make_slurm_run(pending, INFO.replace(reason="Resources"), started_at=start)
    running = write_run(ui_project, RUNNING, "running", done=120, ended=False, started_at=start)
    make_slurm_run(
        running,
        INFO.replace(
            job_id="4241",
            jobs=("4240", "4241"),
            state="RUNNING",
            node="node07",
            time_left="2:07:09",
            restarts=1,
        ),
        started_at=start,
    )
    make_slurm_run(
        write_run(ui_project, DONE, "completed", started_at=T0), INFO.replace(job_id="4239")
    )
    write_run(ui_project, LOCAL, "completed", started_at=T0 - 100)
    app = make_app(
        ui_project,
        sampler=FixedSampler(),
        clock=lambda: start + 600,
        poll_s=0.2,
        sample_s=3600,
        open_default=False,
    )

    async def settle(pilot: Pilot[object]) -> None:
        await app.panes_mounted()
        await until(pilot, lambda: len(app.sidebar.records) == 4, "the runs listed")
        app.show_run(app.records[RUNNING])
        await until(
            pilot,
            lambda: (
                app.dashboard.history is not None
                and len(app.dashboard.history.series.get("train/loss", ())) == 24
                and app.dashboard.log_panel.line_count == 30
            ),
            "the run's metrics and log",
        )
        await until(pilot, lambda: app.dashboard.query_one("#system").snapshot, "a sample")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
