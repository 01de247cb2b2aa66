"""Pilot: steering a real running run from the dashboard. `L` asks for the learning rate
showing the current one, `E` for max_epochs showing the current value, `W` saves now; each
acknowledgement is a notification, and the lr change is marked on the loss curve at its
step."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Input

from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.screens.prompt import PromptScreen
from tests.ui.fixtures import FixedSampler
from tests.ui.test_ui_runs import SIZE, launch_with, notices, until


async def test_dashboard_keys_steer_the_run_and_mark_the_curve(ui_project: Path) -> None:
    app = make_app(ui_project, sampler=FixedSampler(gpus=False), poll_s=0.3, sample_s=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: app.editor.path is not None, "the default config to open")
        run_id = await launch_with(
            pilot, app, "trainer.max_epochs=300 model.hidden=[16] trainer.log_every_n_steps=2"
        )
        history = await until(pilot, lambda: app.dashboard.history, "the history")
        await until(pilot, lambda: history.last("lr") is not None, "an lr on the curve")
        await until(pilot, lambda: app.records[run_id].pid, "the recipe to run")

        await pilot.press("L")
        prompt = await until(
            pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen, "the prompt"
        )
        field = prompt.query_one("#prompt-input", Input)
        assert "(now " in prompt.question and field.value  # the current rate, to edit
        assert float(field.value) > 0
        field.value = "x0.5"
        await pilot.press("enter")
        applied = await until(
            pilot,
            lambda: [n for n in notices(app) if re.match(rf"{run_id}: lr = \S+: applied", n)],
            "the lr acknowledgement",
        )
        step = int(applied[0].rsplit(" ", 1)[1])
        chart = app.dashboard.chart
        await until(pilot, lambda: chart.marked_steps == [step], "the marker at the change")

        await pilot.press("E")
        prompt = await until(
            pilot, lambda: isinstance(app.screen, PromptScreen) and app.screen, "the prompt"
        )
        field = prompt.query_one("#prompt-input", Input)
        assert field.value == "300" and "(now 300)" in prompt.question
        field.value = "400"
        await pilot.press("enter")
        await until(
            pilot,
            lambda: any(f"{run_id}: max_epochs = 400: applied" in n for n in notices(app)),
            "the max_epochs acknowledgement",
        )
        await until(pilot, lambda: history.progress.max_epochs == 400, "the new max_epochs")

        await pilot.press("W")
        await until(
            pilot,
            lambda: any(f"{run_id}: checkpoint: applied" in n for n in notices(app)),
            "the save acknowledgement",
        )
        assert (ui_project / "runs" / run_id / "checkpoints" / "last.ckpt").is_file()
