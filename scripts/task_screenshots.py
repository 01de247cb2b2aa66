"""The README's pictures of each task's dashboard, from real training (120x40 SVG).

    python scripts/task_screenshots.py   # docs/ui-task-{multilabel,segmentation,detection}.svg

Unlike scripts/screenshots.py (hand-written runs, byte-for-byte repeatable), these come
from the shipped example configs really trained on the generated shapes set in a scratch
project (a few CPU minutes in all), so the curves, metrics, log and the media panel's
images (half blocks, as over SSH) are what a user sees after the README's commands.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autotrain_tui.core import Project, trust  # noqa: E402
from autotrain_tui.core.gpus import FAKE_GPU_USED_ENV, FAKE_GPUS_ENV  # noqa: E402
from autotrain_tui.ui.app import make_app  # noqa: E402
from autotrain_tui.ui.widgets.media_panel import HalfBlockImage  # noqa: E402
from scripts.make_shapes_dataset import write_dataset  # noqa: E402
from tests.helpers import make_project  # noqa: E402
from tests.ui.fixtures import FixedSampler  # noqa: E402

DOCS = REPO / "docs"
SIZE = (120, 40)
TASKS = {
    "multilabel": "configs/multilabel_shapes.yaml",
    "segmentation": "configs/segment_shapes.yaml",
    "detection": "configs/detect_shapes.yaml",
}


def train(project: Path, config: str) -> str:
    """The example as the README runs it (its own epochs), launched as the UI would; the
    finished run's id."""
    manager = Project(project)
    record = manager.launch(config, [])
    while manager.get_run(record.id).status.is_live:
        time.sleep(2)
    return record.id


async def shoot(project: Path, run_id: str, name: str) -> None:
    app = make_app(project, sampler=FixedSampler(gpus=False), open_default=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.panes_mounted()
        for _ in range(600):
            if run_id in app.records:
                break
            await pilot.pause(0.05)
        app.show_run(app.records[run_id])
        for _ in range(600):
            if app.dashboard.media.query_one(HalfBlockImage).blocks is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        app.save_screenshot(filename=name, path=str(DOCS))


def main() -> int:
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
    )
    os.environ[FAKE_GPUS_ENV] = "0"
    os.environ.pop(FAKE_GPU_USED_ENV, None)
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="autotrain-task-shots-")
    scratch = Path(tempfile.mkdtemp(prefix="autotrain-task-shots-"))
    try:
        project = make_project(scratch / "project")
        trust.trust_project(project)
        write_dataset(
            project / "data/shapes_tasks", images=600, size=64, seed=0, class_colours=True
        )
        for task, config in TASKS.items():
            run_id = train(project, config)
            name = f"ui-task-{task}.svg"
            asyncio.run(shoot(project, run_id, name))
            print(f"wrote docs/{name}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
