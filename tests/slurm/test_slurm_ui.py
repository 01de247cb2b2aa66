"""The UI with a real SLURM run on the test cluster: launched from the launch dialog with
SLURM chosen (by keyboard), its job id and state shown in the runs list and the dashboard,
and the run completed, with the choice remembered for the next launch."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, RadioButton

from autotrain_tui.core import trust
from autotrain_tui.core.gpus import FAKE_GPU_USED_ENV, FAKE_GPUS_ENV
from autotrain_tui.core.runs import RunStatus
from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.screens.launch import LaunchScreen
from tests.core.support import kill_project_processes
from tests.helpers import REPO, make_project
from tests.slurm_cluster import SlurmCluster
from tests.ui.fixtures import FixedSampler
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_runs import notices, until

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A trusted copy of the shipped project whose jobs find this checkout's recipe."""
    parts = [str(REPO), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in parts if p))
    monkeypatch.setenv(FAKE_GPUS_ENV, "0")
    monkeypatch.delenv(FAKE_GPU_USED_ENV, raising=False)
    root = make_project(tmp_path / "project")
    trust.trust_project(root)
    try:
        yield root
    finally:
        kill_project_processes(root)


def test_a_run_launched_on_slurm_from_the_dialog_shows_its_job_and_completes(
    slurm: SlurmCluster, project: Path
) -> None:
    # A job holding every CPU of the node: ours pends, with the scheduler's reason, until
    # the test lets it go.
    holder = slurm.submit("-c", str(slurm.cpus), "--wrap", "sleep 300")
    slurm.wait_for(lambda: slurm.job_state(holder)[0] == "RUNNING", "the holder to run")
    asyncio.run(launch_on_slurm_and_watch(slurm, holder, project))


async def launch_on_slurm_and_watch(slurm: SlurmCluster, holder: str, project: Path) -> None:
    app = make_app(project, sampler=FixedSampler(gpus=False), poll_s=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.full_check == "ok", "the config checked")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen), "the launch dialog")
        dialog = app.screen
        dialog.query_one("#overrides", Input).value = "trainer.max_epochs=1 model.hidden=[16]"
        # By keyboard: tab to "Run on", right to SLURM, space to choose it, tab to Launch.
        await pilot.press("tab", "right", "space")
        assert dialog.query_one("#on-slurm", RadioButton).value
        await pilot.press("tab", "enter")
        record = await until(pilot, lambda: app.dashboard.record, "the dashboard", 60)
        assert record.backend == "slurm" and record.slurm is not None
        job = record.slurm.job_id
        assert job is not None
        # Listed with its job, and waiting for the holder's CPUs, as the scheduler says.
        pending = f"slurm {job} · PENDING (Resources)"
        await until(pilot, lambda: pending in screen_text(app), "the pending job shown", 30)
        runs = app.sidebar.query_one("#runs", OptionList)
        listed = str(runs.get_option(record.id).prompt).splitlines()
        assert listed[1].split()[:2] == ["PENDING", "(Resources)"]
        assert listed[2].strip() == f"slurm {job}"
        slurm.run(["scancel", holder])
        await until(
            pilot,
            lambda: app.records[record.id].status is RunStatus.COMPLETED,
            "the run to complete",
            180,
        )
        run = app.records[record.id]
        assert run.slurm is not None and (run.slurm.job_id, run.slurm.node) == (job, "localhost")
        ended = f"slurm {job} · node localhost · cluster {run.slurm.cluster}"
        await until(pilot, lambda: ended in screen_text(app), "the ended job on the dashboard")
        assert app.dashboard.history is not None and app.dashboard.history.series
        # The next launch dialog opens on SLURM: the session remembers the choice.
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen), "the dialog again")
        assert app.screen.query_one("#on-slurm", RadioButton).value
        await pilot.press("escape")


def test_a_sweep_launched_on_slurm_from_the_dialog_lists_its_array_jobs(
    slurm: SlurmCluster, project: Path
) -> None:
    # The node kept busy: the sweep's jobs pend (nothing trains), and the fixture cancels
    # every job after the test.
    holder = slurm.submit("-c", str(slurm.cpus), "--wrap", "sleep 300")
    slurm.wait_for(lambda: slurm.job_state(holder)[0] == "RUNNING", "the holder to run")
    asyncio.run(sweep_on_slurm(project))


async def sweep_on_slurm(project: Path) -> None:
    app = make_app(project, sampler=FixedSampler(gpus=False), poll_s=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.full_check == "ok", "the config checked")
        app.launch_on_slurm = True  # chosen earlier in the session: the dialog opens on it
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen), "the launch dialog")
        assert app.screen.query_one("#on-slurm", RadioButton).value
        app.screen.query_one("#overrides", Input).value = "optimizer.lr=1e-3,3e-3"
        await pilot.press("enter")
        await until(
            pilot,
            lambda: any("2 runs submitted to SLURM" in n for n in notices(app)),
            "the sweep submitted",
            60,
        )
        await until(pilot, lambda: len(app.records) == 2, "the sweep's runs listed", 30)
        jobs = sorted(r.slurm.job_id for r in app.records.values() if r.slurm and r.slurm.job_id)
        assert len(jobs) == 2 and len({job.split("_")[0] for job in jobs}) == 1  # one array
        await until(
            pilot,
            lambda: screen_text(app).count("PENDING (Resources)") == 2,
            "both jobs pending",
            30,
        )
        shown = screen_text(app)
        assert all(f"slurm {job}" in shown for job in jobs)
