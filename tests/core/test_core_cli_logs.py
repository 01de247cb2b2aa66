"""`autotrain-tui logs`: the whole log however long, exactly the last N lines, then follow.

Logs of days of training run to gigabytes: the command streams them in chunks (constant
memory) and finds the last N lines by reading backwards from the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autotrain_tui.cli_logs import last_lines_offset
from tests.core.support import standin_project, wait_for

# Run in a fresh interpreter that reports its own peak memory on stderr's last line: VmHWM
# (ru_maxrss would include the forking test process, whose peak survives the exec).
_MEASURED = (
    "import re, sys\n"
    "from autotrain_tui.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "status = open('/proc/self/status').read()\n"
    "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _logs(root: Path, *args: str) -> tuple[int, bytes, int]:
    """Exit status, stdout bytes and peak RSS (KiB) of `autotrain-tui logs ARGS`."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURED, "logs", *args],
        cwd=root,
        capture_output=True,
        timeout=240,
    )
    *errors, peak = result.stderr.decode().splitlines()
    assert not errors, errors
    return result.returncode, result.stdout, int(peak)


def _finished_run(root: Path, name: str, log: bytes) -> Path:
    run_dir = root / "runs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"id": name, "status": "completed"}))
    (run_dir / "stdout.log").write_bytes(log)
    return run_dir


def test_the_whole_log_and_exactly_the_last_lines(standin_root: Path) -> None:
    # 40 MiB of numbered lines, a multi-byte character in each, and a known last line.
    lines = [f"step {i:08d} loss 0.{i % 997:03d} ✓ {'.' * 60}\n".encode() for i in range(520_000)]
    lines.append(b"the last line: done\n")
    log = b"".join(lines)
    assert len(log) > 32 * 2**20
    _finished_run(standin_root, "big-20260101-000000-aaaa", log)

    code, out, peak_whole = _logs(standin_root, "aaaa")
    assert code == 0 and out == log  # every byte, not the first 4 MiB cut mid-line
    code, out, _ = _logs(standin_root, "aaaa", "-n", "3")
    assert code == 0 and out == b"".join(lines[-3:])
    code, out, peak_tail = _logs(standin_root, "latest", "-n", "200000")
    assert code == 0 and out == b"".join(lines[-200_000:])
    code, out, peak_none = _logs(standin_root, "aaaa", "-n", "0")
    assert code == 0 and out == b""
    # Streamed: the interpreter never holds the log (40 MiB) nor the 200,000 lines (17 MiB):
    # printing them costs little more memory than printing nothing.
    assert peak_whole - peak_none < 8 * 1024, (peak_whole, peak_none)
    assert peak_tail - peak_none < 8 * 1024, (peak_tail, peak_none)


@pytest.mark.parametrize(
    ("log", "count", "expected"),
    [
        (b"", 3, b""),
        (b"a\nb\nc\n", 2, b"b\nc\n"),
        (b"a\nb\nc", 2, b"b\nc"),  # a last line still being written counts as a line
        (b"a\nb\nc\n", 5, b"a\nb\nc\n"),
        (b"\n\n\n", 2, b"\n\n"),
        (b"only", 1, b"only"),
    ],
)
def test_last_lines_offset_counts_like_tail(
    tmp_path: Path, log: bytes, count: int, expected: bytes
) -> None:
    path = tmp_path / "stdout.log"
    path.write_bytes(log)
    assert log[last_lines_offset(path, count) :] == expected


def test_a_partial_last_line_is_printed_and_ended(standin_root: Path) -> None:
    _finished_run(standin_root, "part-20260101-000000-bbbb", b"one\ntwo\nthree, still writ")
    code, out, _ = _logs(standin_root, "bbbb", "-n", "2")
    assert code == 0 and out == b"two\nthree, still writ\n"


def test_follow_prints_until_the_run_ends(standin_root: Path) -> None:
    project = standin_project(standin_root)
    record = project.launch("standin", ["standin.seconds=2"])
    code, out, _ = _logs(standin_root, record.id[-4:], "-f")
    assert code == 0
    assert out.decode().startswith("standin: training in ")
    wait_for(lambda: not project.get_run(record.id).is_live, what="the run to end")
