"""A run reference is only ever the name of an entry of runs/: `rm` can reach nothing else.

Real directories, real links and the real `rm` command: the project, a directory beside it
and the targets of links must all survive every spelling of "somewhere else".
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from autotrain_tui.cli import main


def _finished_run(run_dir: Path, run_id: str, created_at: float = 1.0) -> Path:
    run_dir.mkdir(parents=True)
    record = {"version": 1, "id": run_id, "status": "completed", "created_at": created_at}
    (run_dir / "run.json").write_text(json.dumps(record))
    (run_dir / "stdout.log").write_text(f"log of {run_id}\n")
    return run_dir


def _tree(root: Path) -> set[str]:
    """Every path under root (links not followed), but the queue's lock file that an `rm`
    creates in runs/."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.name != ".queue.lock"}


def test_rm_never_deletes_outside_runs(
    standin_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = standin_root / "runs"
    run = _finished_run(runs / "digits-20260101-000000-aaaa", "digits-20260101-000000-aaaa")
    # Everything that looks like a run but is not an entry of runs/: the project itself (a
    # run.json at its top, as `recipe train --run-dir .` leaves), a directory beside it,
    # and links inside runs/ to both.
    _finished_run(standin_root / "top", "top")
    (standin_root / "run.json").write_text((standin_root / "top" / "run.json").read_text())
    outside = _finished_run(tmp_path / "outside", "outside")
    (runs / "link-out").symlink_to(outside)
    (runs / "link-up").symlink_to(standin_root)
    (run / "data").symlink_to(outside)  # a link inside a run: removed, never followed
    before_project, before_outside = _tree(standin_root), _tree(outside)

    refs = [
        "..",
        "runs/..",
        "runs/../",
        ".",
        "./",
        "runs/.",
        "../outside",
        "runs/../top",
        str(standin_root),
        str(outside),
        str(run),
        "link-out",
        "runs/link-out",
        "link-up",
        "/",
        "",
    ]
    for ref in refs:
        code = main(["rm", ref, "-C", str(standin_root)])
        captured = capsys.readouterr()
        assert code == 1, (ref, captured)
        assert captured.out == ""
        # One line, naming why; never a traceback.
        assert captured.err.count("\n") == 1 and captured.err.startswith("autotrain-tui: error: ")
    assert _tree(standin_root) == before_project
    assert _tree(outside) == before_outside
    link_error = main(["rm", "link-out", "-C", str(standin_root)])
    assert link_error == 1
    assert capsys.readouterr().err == (
        "autotrain-tui: error: runs/link-out is a symbolic link, not a run directory; nothing "
        "is done through it (put the run directory itself there, or remove the link)\n"
    )

    # The real run, named by its distinguishing tail, goes; nothing else does.
    assert main(["rm", "aaaa", "-C", str(standin_root)]) == 0
    assert capsys.readouterr().out == "removed digits-20260101-000000-aaaa\n"
    assert not run.exists()
    gone = [run, run / "run.json", run / "stdout.log", run / "data"]
    assert _tree(standin_root) == before_project - {str(p.relative_to(standin_root)) for p in gone}
    assert _tree(outside) == before_outside and os.path.islink(runs / "link-out")


def test_references_name_runs_by_directory(
    standin_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = standin_root / "runs"
    _finished_run(runs / "digits-20260101-000000-aaaa", "digits-20260101-000000-aaaa", 1.0)
    _finished_run(runs / "digits-20260102-000000-bbbb", "digits-20260102-000000-bbbb", 2.0)
    # The README's example: `logs -f latest` keeps working with two runs of one config.
    assert main(["logs", "-f", "latest", "-C", str(standin_root)]) == 0
    assert capsys.readouterr().out == "log of digits-20260102-000000-bbbb\n"
    assert main(["logs", "aaaa", "-C", str(standin_root)]) == 0
    assert capsys.readouterr().out == "log of digits-20260101-000000-aaaa\n"
    assert main(["logs", "digits-2026", "-C", str(standin_root)]) == 1
    assert capsys.readouterr().err == (
        "autotrain-tui: error: 'digits-2026' matches 2 runs: digits-20260101-000000-aaaa, "
        "digits-20260102-000000-bbbb; give more of the name (its last part tells runs apart)\n"
    )
