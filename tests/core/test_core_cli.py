"""The command line: one clear line per user error, stable --json, the UI entry reserved."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autotrain_tui.cli import main
from tests.core.support import TINY_CONFIG, wait_for


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autotrain_tui.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        (["logs", "zzz"], 1, "autotrain-tui: error: no run matches 'zzz'\n"),
        (["rm", "zzz"], 1, "autotrain-tui: error: no run matches 'zzz'\n"),
        (["launch", "nope.yaml"], 1, "autotrain-tui: error: config not found: nope.yaml\n"),
        (
            ["stop"],
            2,
            "autotrain-tui: error: stop needs a RUN or --sweep (see autotrain-tui stop --help)\n",
        ),
        (
            ["runs", "--status", "bogus"],
            2,
            "autotrain-tui: error: argument --status: invalid "
            "choice: 'bogus' (choose from 'queued', 'running', 'completed', 'failed', 'stopped', "
            "'lost', 'pruned') "
            "(see autotrain-tui runs --help)\n",
        ),
        (
            ["two", "args"],
            2,
            "autotrain-tui: error: unknown command 'two' (see autotrain-tui --help)\n",
        ),
        (
            ["queue", "--max-concurrent", "0"],
            2,
            "autotrain-tui: error: argument --max-concurrent: must be at least 1, not 0 (0 would "
            "never start a run) (see autotrain-tui queue --help)\n",
        ),
        (
            ["logs", "x", "-n", "-1"],
            2,
            "autotrain-tui: error: argument -n/--lines: must be at least 0, not -1 "
            "(see autotrain-tui logs --help)\n",
        ),
    ],
)
def test_user_errors_are_one_line(
    standin_root: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    stderr: str,
) -> None:
    assert main([*args, "-C", str(standin_root)] if args[0] not in ("two",) else args) == code
    captured = capsys.readouterr()
    assert captured.err == stderr


def test_bare_command_is_reserved_for_the_ui(standin_root: Path) -> None:
    # Without a terminal the UI cannot start: a clear error instead of a hang. (The UI in
    # a real terminal is covered by tests/ui/test_ui_tmux.py.)
    result = cli(standin_root)
    assert result.returncode == 2
    assert result.stderr == (
        "autotrain-tui: error: the terminal UI needs a terminal (stdin and stdout are not "
        "one); use a subcommand instead (see autotrain-tui --help)\n"
    )
    result = cli(standin_root, "no-such-dir")
    assert result.returncode == 2
    assert (
        result.stderr == "autotrain-tui: error: no such command or project directory: no-such-dir\n"
    )


@pytest.mark.slow
def test_launch_runs_logs_json_and_invalid_config(standin_root: Path) -> None:
    # The real recipe, through the real console entry, in a fresh process each time.
    (standin_root / "configs" / "tiny.yaml").write_text(TINY_CONFIG)
    bad = cli(standin_root, "launch", "configs/tiny.yaml", "trainer.max_epochs=abc")
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "<command line>:1:1: 'trainer.max_epochs' must be an integer, got 'abc' (a string)",
        "autotrain-tui: error: invalid config configs/tiny.yaml; nothing was launched",
    ]

    launched = cli(standin_root, "launch", "tiny", "--json")
    assert launched.returncode == 0, launched.stderr
    payload = json.loads(launched.stdout)
    assert payload["version"] == 1 and payload["run"]["status"] == "running"
    run_id = payload["run"]["id"]

    follow = cli(standin_root, "logs", run_id[:-1], "-f")
    assert follow.returncode == 0 and "best val/acc" in follow.stdout

    listed = json.loads(cli(standin_root, "runs", "--json", "--status", "completed").stdout)
    assert [r["id"] for r in listed["runs"]] == [run_id]
    assert set(listed["runs"][0]) >= {
        "id",
        "status",
        "pid",
        "pgid",
        "create_time",
        "exit_code",
        "run_dir",
        "overrides",
        "command",
        "gpus",
        "sweep",
    }
    table = cli(standin_root, "runs").stdout.splitlines()
    assert table[0].split() == ["RUN", "STATUS", "GPUS", "AGE", "EXIT", "SWEEP"]
    assert table[1].split()[:2] == [run_id, "completed"]
    removed = cli(standin_root, "rm", run_id)
    assert removed.stdout == f"removed {run_id}\n"
    wait_for(lambda: not (standin_root / "runs" / run_id).exists(), what="removal")


def test_project_directory_before_or_after_the_subcommand(
    standin_root: Path, tmp_path: Path
) -> None:
    run_dir = standin_root / "runs" / "r-20260101-000000-aaaa"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"id": run_dir.name, "status": "completed"}))
    before = cli(tmp_path, "-C", str(standin_root), "runs")
    after = cli(tmp_path, "runs", "-C", str(standin_root))
    assert before.returncode == after.returncode == 0, before.stderr
    assert before.stdout == after.stdout and run_dir.name in before.stdout
    # The subcommand's -C wins over the one before it, as the later option does.
    assert cli(standin_root, "-C", str(tmp_path), "runs", "-C", ".").stdout == before.stdout


def test_outside_a_project_every_command_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "not-a-project"
    empty.mkdir()
    expected = (
        f"autotrain-tui: error: no project found in {empty} (it has no configs/ or runs/): "
        "run autotrain-tui inside a project, or name one with -C DIR\n"
    )
    for args in (["runs"], ["sweeps"], ["queue"], ["logs", "latest"], ["launch", "digits"]):
        result = cli(empty, *args)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", expected), args
    missing = cli(tmp_path, "-C", "nowhere", "runs")
    assert (missing.returncode, missing.stderr) == (
        1,
        "autotrain-tui: error: no such project directory: nowhere (name a project with -C DIR)\n",
    )
    assert not list(empty.iterdir())  # nothing was created there
