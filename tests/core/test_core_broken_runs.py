"""Damaged files never hide the rest: `runs` lists what it can and names what is broken.

A truncated or hand-edited run.json, a `.queue.json` with wrong types, a copied run
directory, a read-only project: each is named with its file and the fix, the other runs are
still listed, and every command on a broken run says what is wrong instead of a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autotrain_tui.core import RunStatus
from autotrain_tui.core.queue import QUEUE_SETTINGS
from tests.core.support import standin_project, wait_for

GOOD = "good-20260101-000000-aaaa"


def _cli(root: Path, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "autotrain_tui.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=240,
    )


def _run(runs: Path, name: str, **fields: object) -> Path:
    run_dir = runs / name
    run_dir.mkdir(parents=True)
    record = {"version": 1, "id": name, "status": "completed", "created_at": 1.0, **fields}
    (run_dir / "run.json").write_text(json.dumps(record))
    (run_dir / "config.yaml").write_text("project:\n  name: x\n")
    (run_dir / "stdout.log").write_text(f"log of {name}\n")
    return run_dir


def _damaged_project(root: Path) -> Path:
    runs = root / "runs"
    good = _run(runs, GOOD)
    text = (good / "run.json").read_text()
    (_run(runs, "truncated") / "run.json").write_text(text[: len(text) // 2])
    (_run(runs, "empty") / "run.json").write_text("")
    (_run(runs, "listed") / "run.json").write_text("[1, 2]")
    (_run(runs, "bad-pid") / "run.json").write_text(
        json.dumps({"id": "bad-pid", "status": "running", "pid": "abc", "create_time": 1.0})
    )
    (_run(runs, "bad-gpus") / "run.json").write_text(json.dumps({"id": "x", "gpus": "0,1"}))
    no_record = runs / "no-record"
    no_record.mkdir()
    old = time.time() - 3600  # not a run being created this instant
    os.utime(no_record, (old, old))
    shutil.copytree(good, runs / "good-copy")  # a copied run: the same id twice
    return runs


EXPECTED_PROBLEMS = [
    "runs/bad-gpus/run.json is damaged ('gpus' should be a list, not \"0,1\"): restore it "
    "from a backup, or delete the run (rm -r runs/bad-gpus)",
    "runs/bad-pid/run.json is damaged ('pid' should be a whole number, not \"abc\"): restore it "
    "from a backup, or delete the run (rm -r runs/bad-pid)",
    "runs/empty/run.json is damaged (empty): restore it from a backup, or delete the run "
    "(rm -r runs/empty)",
    f"runs/good-20260101-000000-aaaa and runs/good-copy both say id {GOOD} (a copied run "
    "directory?): remove the copy, or give it an id of its own in its run.json",
    "runs/listed/run.json is damaged (not a JSON object but list): restore it from a backup, "
    "or delete the run (rm -r runs/listed)",
    "runs/no-record has no run.json: not a run (or its record was deleted); move it out of "
    "runs/ or delete it (rm -r runs/no-record)",
]


def test_runs_lists_what_it_can_and_names_every_broken_entry(standin_root: Path) -> None:
    _damaged_project(standin_root)
    listed = _cli(standin_root, "runs")
    assert listed.returncode == 0
    table = listed.stdout.splitlines()
    assert [line.split()[0] for line in table] == ["RUN", "good-copy", GOOD]
    warnings = listed.stderr.splitlines()
    assert warnings[:5] == [f"autotrain-tui: warning: {m}" for m in EXPECTED_PROBLEMS[:5]]
    truncated = warnings[-1]
    assert truncated.startswith("autotrain-tui: warning: runs/truncated/run.json is damaged (not")
    assert truncated.endswith(
        "): restore it from a backup, or delete the run (rm -r runs/truncated)"
    )
    assert len(warnings) == len(EXPECTED_PROBLEMS) + 1

    as_json = json.loads(_cli(standin_root, "runs", "--json").stdout)
    assert [r["run_dir"] for r in as_json["runs"]] == [
        str(standin_root / "runs" / "good-copy"),
        str(standin_root / "runs" / GOOD),
    ]
    assert [p["entry"] for p in as_json["problems"]] == [
        "bad-gpus",
        "bad-pid",
        "empty",
        "good-20260101-000000-aaaa",
        "listed",
        "no-record",
        "truncated",
    ]
    assert [p["message"] for p in as_json["problems"]][:6] == EXPECTED_PROBLEMS


@pytest.mark.parametrize(
    "command",
    [
        ["logs", "empty"],
        ["logs", "-f", "empty"],
        ["stop", "empty"],
        ["resume", "empty"],
        ["rm", "empty"],
        ["clone", "empty", "copy"],
        ["front", "empty"],
    ],
)
def test_every_command_on_a_broken_run_says_what_is_wrong(
    standin_root: Path, command: list[str]
) -> None:
    _damaged_project(standin_root)
    result = _cli(standin_root, *command)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "autotrain-tui: error: runs/empty/run.json is damaged (empty): restore it from a "
        "backup, or delete the run (rm -r runs/empty)\n"
    )


def test_a_copied_run_is_named_by_its_directory(standin_root: Path) -> None:
    runs = _damaged_project(standin_root)
    assert _cli(standin_root, "logs", "good-copy").stdout == f"log of {GOOD}\n"
    removed = _cli(standin_root, "rm", "good-copy")
    assert removed.stdout == "removed good-copy\n"
    assert not (runs / "good-copy").exists() and (runs / GOOD / "run.json").is_file()


def test_queue_settings_of_the_wrong_type_are_named_and_never_stop_the_queue(
    standin_root: Path,
) -> None:
    project = standin_project(standin_root)
    settings = project.runs_dir / QUEUE_SETTINGS
    project.runs_dir.mkdir()
    settings.write_text(json.dumps({"max_concurrent": "two"}))
    shown = _cli(standin_root, "queue")
    assert shown.returncode == 0
    assert shown.stdout.startswith("max concurrent runs: 1 (default)")
    assert shown.stderr == (
        "autotrain-tui: warning: runs/.queue.json: max_concurrent must be a whole number of at "
        'least 1 (or null: one run per GPU), not "two" (0 would never start a run); the '
        "defaults apply until you fix it (autotrain-tui queue --max-concurrent N rewrites it)\n"
    )
    # 0 would queue every run forever, silently: the defaults apply, and `runs` says why.
    settings.write_text(json.dumps({"max_concurrent": 0}))
    record = project.launch("standin", queue=True)
    assert project.get_run(record.id).status is RunStatus.RUNNING
    listed = _cli(standin_root, "runs")
    assert "runs/.queue.json: max_concurrent must be a whole number of at least 1" in listed.stderr
    assert [line.split()[1] for line in listed.stdout.splitlines()[1:]] == ["running"]
    assert _cli(standin_root, "queue", "--max-concurrent", "2").stderr == ""
    assert json.loads(settings.read_text())["max_concurrent"] == 2
    project.kill(record.id)
    wait_for(lambda: not project.get_run(record.id).is_live, what="the run to end")


# Launches through the core (as the UI does) inside a prefix's namespace; prints the error's
# type and line, then the run directories left in runs/.
_LAUNCH = (
    "import os, sys\n"
    "from autotrain_tui.core import ManagerError, Project\n"
    "try:\n"
    "    Project(sys.argv[1], recipe_module='standin_recipe').launch('standin')\n"
    "except ManagerError as error:\n"
    "    print(type(error).__name__, error)\n"
    "print(sorted(n for n in os.listdir(sys.argv[1] + '/runs') if not n.startswith('.')))\n"
)


def _launch_through_core(prefix: tuple[str, ...], root: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-c", _LAUNCH, root], capture_output=True, text=True
    )


def test_a_read_only_project_says_so_in_one_line(standin_root: Path) -> None:
    runs = standin_root / "runs"
    _run(runs, GOOD)
    # A run recorded running whose processes are gone: listing it must update run.json.
    _run(runs, "dead", status="running", pid=2**22 + 1, create_time=1.0)
    # A real read-only file system: the project bind-mounted read-only in a private mount
    # namespace (unshare works unprivileged, and as root, whom permissions do not stop).
    root = str(standin_root)
    read_only = (
        "unshare",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        f'mount --bind "{root}" "{root}" && mount -o remount,bind,ro "{root}" && exec "$@"',
        "sh",
    )
    listed = _cli(standin_root, "runs", prefix=read_only)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == [GOOD, "dead"]
    assert listed.stderr == (
        "autotrain-tui: warning: cannot update runs/dead/run.json (Read-only file system): "
        "its status may be out of date\n"
    )
    removed = _cli(standin_root, "rm", GOOD, prefix=read_only)
    assert (removed.returncode, removed.stdout) == (1, "")
    assert removed.stderr == (
        f"autotrain-tui: error: cannot write {runs}/.queue.lock: the file system is read-only "
        "(use a writable copy)\n"
    )
    assert (runs / GOOD / "run.json").is_file()
    queue_set = _cli(standin_root, "queue", "--max-concurrent", "2", prefix=read_only)
    assert (queue_set.returncode, queue_set.stdout) == (1, "")
    assert queue_set.stderr == (
        f"autotrain-tui: error: cannot write {runs}/.queue.lock: the file system is read-only "
        "(use a writable copy)\n"
    )
    # The core says it in one ManagerError too, for the UI to show once.
    launched = _launch_through_core(read_only, root)
    assert launched.stderr == ""
    said, left = launched.stdout.splitlines()
    assert said.startswith(f"ProjectNotWritableError cannot write {runs}/standin-")
    assert said.endswith(": the file system is read-only (use a writable copy)")
    assert left == f"['dead', '{GOOD}']"
    assert sorted(p.name for p in runs.iterdir()) == ["dead", GOOD]


def test_a_full_disk_is_named_and_runs_still_lists(standin_root: Path, tmp_path: Path) -> None:
    runs = standin_root / "runs"
    _run(runs, GOOD)
    _run(runs, "dead", status="running", pid=2**22 + 1, create_time=1.0)
    # A real full file system: runs/ copied onto a small tmpfs, filled up, and mounted over
    # runs/ in a private mount namespace.
    small, root = tmp_path / "tmpfs", str(standin_root)
    small.mkdir()
    full = (
        "unshare",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        f'mount -t tmpfs -o size=64k tmpfs "{small}" && cp -a "{runs}/." "{small}/" && '
        f'{{ head -c 1M /dev/zero > "{small}/.fill" 2>/dev/null; true; }} && '
        f'mount --bind "{small}" "{runs}" && exec "$@"',
        "sh",
    )
    listed = _cli(standin_root, "runs", prefix=full)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == [GOOD, "dead"]
    assert listed.stderr == (
        "autotrain-tui: warning: cannot update runs/dead/run.json (No space left on device): "
        "its status may be out of date\n"
    )
    launched = _launch_through_core(full, root)
    # The launch that found no space left no half-made run directory behind.
    assert (launched.stderr, launched.stdout) == (
        "",
        f"ProjectNotWritableError cannot write a file in {runs}: no space left on the disk "
        f"(free some, then retry)\n['dead', '{GOOD}']\n",
    )
