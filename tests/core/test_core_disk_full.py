"""A disk that fills up mid-run ends the run `failed` with the reason, never a run stuck
`running` or a supervisor dead on its way out.

The disk is real: a small tmpfs mounted for the test (the tests run as root, as CI does),
holding the whole project; the run trains on it until the test fills what is left.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from autotrain_tui.core import Project, RunStatus, identity, trust
from autotrain_tui.core.groups import group_members
from autotrain_tui.core.runs import read_run
from tests.core.support import (
    TINY_CONFIG,
    kill_project_processes,
    make_root,
    metrics_steps,
    raw_run_json,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A fresh 8 MiB tmpfs, unmounted (and everything on it gone) afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        with contextlib.suppress(Exception):
            kill_project_processes(mount_point / "project")
        subprocess.run(["umount", str(mount_point)], check=False)


def _fill(directory: Path) -> None:
    """Write into `directory` until the filesystem says it is full."""
    with open(directory / "filler", "wb", buffering=0) as handle:
        chunk = b"\0" * 65536
        while True:
            try:
                handle.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
                break
        while True:  # the last few bytes
            try:
                handle.write(b"\0" * 512)
            except OSError:
                break


def test_a_disk_full_mid_run_ends_failed_with_its_reason(small_disk: Path) -> None:
    root = make_root(small_disk, "tiny.yaml", TINY_CONFIG)
    trust.trust_project(root)
    project = Project(root)
    run = project.launch("configs/tiny.yaml", ["trainer.max_epochs=100000"])
    wait_for(lambda: any(s >= 4 for s in metrics_steps(run.run_dir)), what="training")
    running = read_run(run.run_dir)

    _fill(small_disk)

    final = wait_for(
        lambda: (d := raw_run_json(run.run_dir))["status"] != "running" and d,
        what="the run's end to be recorded",
    )
    assert final["status"] == "failed", final
    assert "no space left" in (final["reason"] or ""), final
    sup = running.supervisor_pid
    assert sup is not None
    wait_for(
        lambda: (s := identity.stamp(sup)) is None or s.is_zombie, what="the supervisor to exit"
    )
    assert running.pgid is not None and group_members(running.pgid) == []
    assert project.get_run(run.id).status is RunStatus.FAILED
