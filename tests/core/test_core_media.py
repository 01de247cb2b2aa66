"""`MediaIndex`: the images of a run's `media/` as the dashboard lists them, from real files
written as the recipe does (tests/media_files.py): junk and torn lines, files deleted by
retention, a step written again."""

from __future__ import annotations

from pathlib import Path

from autotrain_tui.core.media import MediaIndex
from tests.media_files import add_media, append_index, media_name


def test_lists_existing_images_and_skips_junk_torn_and_deleted(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    index = MediaIndex(run)
    assert index.read() == []  # no media/ yet
    add_media(run, 10, (200, 0, 0), epoch=0, caption="first")
    append_index(run, "not json at all\n")
    append_index(run, '{"step": 11, "kind": "predictions", "file": "../run.json"}\n')
    add_media(run, 20, (0, 200, 0), epoch=1, kind="confusion")
    append_index(run, '{"step": 30, "epoch": 2, "kind": "predic')  # torn: no newline yet
    listed = index.read()
    assert [(i.step, i.kind, i.caption) for i in listed] == [
        (10, "predictions", "first"),
        (20, "confusion", ""),
    ]

    # Retention deletes the oldest file; its index line stays.
    (run / "media" / media_name("predictions", 10, 0)).unlink()
    assert [i.step for i in index.read()] == [20]

    # The torn line completed: the item shows once its file exists.
    append_index(run, f'tions", "file": "{media_name("predictions", 30, 0)}"}}\n')
    assert [i.step for i in index.read()] == [20]  # its file is not there
    add_media(run, 30, (0, 0, 200), epoch=2, caption="again")  # the same file, a new line
    listed = index.read()
    assert [(i.step, i.caption) for i in listed] == [(20, ""), (30, "again")]
