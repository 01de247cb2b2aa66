"""Every file and directory the run manager creates follows the user's umask, as logs always
did: with 022 a teammate's UI on a shared project reads every run, with 027 only the group
does. (Atomic writes went through mkstemp, which makes 0600 whatever the umask.)"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from autotrain_tui.core import QueueSettings, RunStatus
from autotrain_tui.core.atomic import write_atomic
from autotrain_tui.core.runs import read_run
from tests.core.support import standin_project, wait_for


@pytest.fixture(params=[0o022, 0o027], ids=["umask-022", "umask-027"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """This process (and every process it starts) under the given umask."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_runs_files_follow_the_umask(standin_root: Path, umask: int) -> None:
    project = standin_project(standin_root)
    project.set_queue_settings(QueueSettings(max_concurrent=2))
    run = project.launch("standin", ["standin.seconds=0"])
    done = wait_for(
        lambda: (r := read_run(run.run_dir)).status is RunStatus.COMPLETED and r,
        what="the run to complete",
    )
    clone = project.clone_config(done.id, "cloned")

    files = [
        done.run_dir / name
        for name in ("run.json", "config.yaml", "stdout.log", "supervisor.log", ".run.lock")
    ]
    files += [project.runs_dir / n for n in (".gpu-ledger.json", ".queue.json", ".queue.lock")]
    files.append(clone)
    modes = {str(p.relative_to(project.root)): oct(_mode(p)) for p in files}
    assert modes == {name: oct(0o666 & ~umask) for name in modes}
    assert _mode(done.run_dir) == 0o777 & ~umask
    assert not list(done.run_dir.glob(".*.tmp")) and not list(done.run_dir.glob(".supervisor*"))


def test_a_rewrite_keeps_the_mode_the_user_gave_the_file(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "configs.yaml"
    write_atomic(target, "a: 1\n")
    assert _mode(target) == 0o666 & ~umask
    target.chmod(0o600)
    write_atomic(target, "a: 2\n")
    assert _mode(target) == 0o600 and target.read_text() == "a: 2\n"
