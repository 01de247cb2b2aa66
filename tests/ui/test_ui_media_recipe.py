"""End to end: the media panel shows what the recipe really wrote.

The panel's own tests (test_ui_media.py) write `media/` by hand, following the contract;
this one closes the loop with files from real training: the session's search-sweep runs
(tests/sweep_trials.py: real tiny digits classifiers) wrote a confusion matrix per
validation through recipe.media. The dashboard of one of them shows the newest, with the
recipe's caption, step and epoch, and the count of images in its index.
"""

from __future__ import annotations

import json

from PIL import Image

from autotrain_tui.ui.app import make_app
from autotrain_tui.ui.widgets.media_panel import HalfBlockImage
from tests.sweep_trials import SearchSweep
from tests.ui.fixtures import FixedSampler
from tests.ui.screen_text import screen_text
from tests.ui.test_ui_snapshots import until


async def test_the_panel_shows_the_recipes_newest_confusion_matrix(
    search_sweep: SearchSweep,
) -> None:
    run_id = search_sweep.run_ids[0]
    media = search_sweep.root / "runs" / run_id / "media"
    entries = [json.loads(line) for line in (media / "index.jsonl").read_text().splitlines()]
    assert entries and {e["kind"] for e in entries} == {"confusion"}  # a table classifier
    newest = entries[-1]
    assert Image.open(media / newest["file"]).size[0] > 0  # a real PNG from the recipe

    app = make_app(search_sweep.root, sampler=FixedSampler(gpus=False), open_default=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.panes_mounted()
        await until(pilot, lambda: run_id in app.records, "the run listed")
        app.show_run(app.records[run_id])
        panel = app.dashboard.media
        await until(
            pilot, lambda: panel.query_one(HalfBlockImage).blocks is not None, "an image drawn"
        )
        heading = str(panel.query_one("#media-title").render())
        count = len(entries)
        assert f"confusion · step {newest['step']} · epoch {newest['epoch']}" in heading
        assert f"{count}/{count} (newest)" in heading
        assert newest["caption"] in heading  # the recipe's caption, under the heading line
        assert "confusion matrix, epoch" in screen_text(app)  # and on screen (it may wrap)
