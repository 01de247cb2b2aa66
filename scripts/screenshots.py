"""Regenerates the README's pictures of the UI (Textual SVG screenshots, 120x40).

    python scripts/screenshots.py   # docs/ui-editor.svg, ui-dashboard.svg, ui-compare.svg

Each picture is taken from a scratch copy of the shipped project with hand-written run
directories (tests/ui/fixtures.py: realistic metrics and logs, fixed times), a fixed clock
and a fixed sampler (its GPUs are fakes, named so on screen), so running the script twice
gives the same files. The real recipe checks the config shown in the editor.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from textual.pilot import Pilot  # noqa: E402

from autotrain_tui.core import trust  # noqa: E402
from autotrain_tui.core.gpus import FAKE_GPU_USED_ENV, FAKE_GPUS_ENV  # noqa: E402
from autotrain_tui.ui.app import AutotrainApp, make_app  # noqa: E402
from autotrain_tui.ui.metric_history import MetricHistory  # noqa: E402
from tests.helpers import make_project  # noqa: E402
from tests.ui.fixtures import NOW, T0, FixedSampler, write_run  # noqa: E402

DOCS = REPO / "docs"
SIZE = (120, 40)
LIVE = "digits-20251125-095500-cccc"
DONE = "digits-20251125-094640-aaaa"
FAILED = "digits-20251125-095000-bbbb"


def project_with_runs(root: Path) -> Path:
    """The shipped project, trusted (in this script's own config directory), plus a
    finished, a failed and a live run (this process's pid)."""
    make_project(root)
    trust.trust_project(root)
    write_run(root, DONE, "completed", lr=0.003, started_at=T0, log_lines=60)
    write_run(root, FAILED, "failed", lr=0.1, loss_scale=1.4, done=80, started_at=T0 + 200)
    write_run(
        root,
        LIVE,
        "running",
        lr=0.001,
        loss_scale=0.8,
        steps=400,
        done=240,
        started_at=T0 + 300,
        ended=False,
        alive_pid=True,
    )
    write_training_log(root / "runs" / LIVE / "metrics.jsonl", root / "runs" / LIVE / "stdout.log")
    return root


def write_training_log(metrics: Path, log: Path) -> None:
    """A log that agrees with the run's metrics, as the recipe prints it."""
    lines = ["Seed set to 0", "GPU available: False, used: False", "  | Name | Type | Params"]
    for event in map(json.loads, metrics.read_text().splitlines()):
        values = event.get("metrics") or {}
        shown = "  ".join(f"{k} {v:.4f}" for k, v in values.items() if k != "lr")
        if shown:
            lines.append(
                f"epoch {event['epoch']} step {event['step']}/{event['total_steps']}  {shown}"
            )
    log.write_text("\n".join(lines) + "\n")


async def until(pilot: Pilot[object], predicate: Callable[[], object], what: str) -> None:
    for _ in range(600):
        if predicate():
            return
        await pilot.pause(0.05)
    raise RuntimeError(f"never happened: {what}")


async def editor_view(app: AutotrainApp, pilot: Pilot[object]) -> None:
    await until(pilot, lambda: app.editor.full_check == "ok", "the full check of digits.yaml")
    await until(pilot, lambda: len(app.sidebar.records) == 3, "the runs listed")
    app.editor.text_area.cursor_blink = False


async def dashboard_view(app: AutotrainApp, pilot: Pilot[object]) -> None:
    await until(pilot, lambda: len(app.sidebar.records) == 3, "the runs listed")
    app.show_run(app.records[LIVE])
    await until(
        pilot,
        lambda: (
            app.dashboard.history is not None
            and len(app.dashboard.history.series.get("train/loss", ())) == 48
            and app.dashboard.log_panel.line_count > 50
        ),
        "the live run's metrics and log",
    )
    app.sample_system()
    await until(pilot, lambda: app.dashboard.query_one("#system").snapshot, "a system sample")


async def compare_view(app: AutotrainApp, pilot: Pilot[object]) -> None:
    await until(pilot, lambda: len(app.sidebar.records) == 3, "the runs listed")
    app.sidebar.marked = {DONE, FAILED, LIVE}
    app.action_compare()
    await until(
        pilot,
        lambda: all(
            h.series.get("train/loss")
            for h in getattr(app.screen, "histories", {"-": MetricHistory()}).values()
        ),
        "the runs' metrics",
    )


Settle = Callable[[AutotrainApp, Pilot[object]], Awaitable[None]]


async def shoot(name: str, settle: Settle) -> Path:
    with tempfile.TemporaryDirectory(prefix="autotrain-shots-") as tmp:
        root = project_with_runs(Path(tmp) / "project")
        app = make_app(root, sampler=FixedSampler(), clock=lambda: NOW, sample_s=3600)
        async with app.run_test(size=SIZE) as pilot:
            await app.panes_mounted()
            await settle(app, pilot)
            await pilot.pause(0.3)
            app.save_screenshot(filename=name, path=str(DOCS))
    return DOCS / name


def main() -> int:
    # The recipe the editor's full check runs is this checkout's; the queue sees no GPU.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
    )
    os.environ[FAKE_GPUS_ENV] = "0"
    os.environ.pop(FAKE_GPU_USED_ENV, None)
    # The scratch projects are trusted in a config directory of this run's own, never the
    # user's (the editor's full check runs only in a trusted project).
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="autotrain-screenshots-")
    DOCS.mkdir(exist_ok=True)
    for name, settle in (
        ("ui-editor.svg", editor_view),
        ("ui-dashboard.svg", dashboard_view),
        ("ui-compare.svg", compare_view),
    ):
        path = asyncio.run(shoot(name, settle))
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
