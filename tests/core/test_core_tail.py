"""Incremental readers: only new bytes, partial lines held, truncation survived, bounded."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil
import pytest

from autotrain_tui.core.tail import LineTail, MetricsTail


def _append(path: Path, data: str) -> None:
    with open(path, "a") as handle:
        handle.write(data)


def test_reads_only_new_lines_and_holds_the_partial_one(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    tail = LineTail(log)
    assert tail.read_lines() == []  # no file yet
    _append(log, "one\ntw")
    assert tail.read_lines() == ["one"]
    assert tail.partial_line == "tw"
    assert tail.read_lines() == []
    _append(log, "o\nthree\n")
    assert tail.read_lines() == ["two", "three"]
    assert tail.offset == log.stat().st_size


@pytest.mark.parametrize(
    ("limit", "lines", "skipped"),
    [
        (None, ["a", "b", "c", "d"], 0),
        (10, ["a", "b", "c", "d"], 0),
        (4, ["a", "b", "c", "d"], 0),
        (2, ["c", "d"], 2),
        (1, ["d"], 3),
        (0, [], 4),
    ],
)
def test_newest_lines_pass_over_older_ones_and_count_them(
    tmp_path: Path, limit: int | None, lines: list[str], skipped: int
) -> None:
    log = tmp_path / "stdout.log"
    tail = LineTail(log)
    _append(log, "a\nb\r\nc\nd\npart")
    assert tail.read_newest_lines(limit) == (lines, skipped)
    assert tail.partial_line == "part"  # held back whatever the limit
    _append(log, "ial é\n")
    assert tail.read_newest_lines(limit) == (["partial é"] if limit != 0 else [], int(limit == 0))
    assert tail.read_newest_lines(limit) == ([], 0)


def test_newest_lines_of_a_flood_keep_up_with_its_end(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    tail = LineTail(log)
    _append(log, "".join(f"line {i}\n" for i in range(100_000)))
    lines, skipped = tail.read_newest_lines(250)
    assert lines == [f"line {i}" for i in range(99_750, 100_000)]
    assert skipped == 99_750
    assert tail.offset == log.stat().st_size


def test_survives_truncation_and_replacement(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    _append(log, "a long first line\nsecond\n")
    tail = LineTail(log)
    assert tail.read_lines() == ["a long first line", "second"]
    log.write_text("new\n")  # truncated and rewritten, shorter
    assert tail.read_lines() == ["new"]
    replacement = tmp_path / "other"
    replacement.write_text("x\ny\nz\nlonger than before\n")
    os.replace(replacement, log)
    assert tail.read_lines() == ["x", "y", "z", "longer than before"]
    assert tail.truncations == 2


def test_memory_is_bounded(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    _append(log, "x" * 5000 + "\n" + "y" * 3000)
    tail = LineTail(log, max_chunk_bytes=1024, max_line_bytes=2048)
    batches = [tail.read_lines() for _ in range(9)]
    pieces = [line for batch in batches for line in batch]
    assert all(len(line) <= 2048 + 1024 for line in pieces)
    assert "".join(pieces) + tail.partial_line == "x" * 5000 + "y" * 3000
    assert len(tail.partial_line) <= 2048


def test_from_last_lines_reads_the_end(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    _append(log, "".join(f"line {i}\n" for i in range(100_000)))
    tail, last = LineTail.from_last_lines(log, 3)
    assert last == ["line 99997", "line 99998", "line 99999"]
    _append(log, "after\n")
    assert tail.read_lines() == ["after"]


def test_follow_sleeps_when_idle_and_ends_with_the_run(tmp_path: Path) -> None:
    log = tmp_path / "stdout.log"
    done = threading.Event()

    def writer() -> None:
        for i in range(3):
            _append(log, f"{i}\n")
            time.sleep(0.2)
        time.sleep(1.0)  # idle: the follower must sleep, not spin
        _append(log, "last\n")
        done.set()

    thread = threading.Thread(target=writer)
    cpu_before = psutil.Process().cpu_times()
    thread.start()
    lines = [line for batch in LineTail(log).follow(until=done.is_set) for line in batch]
    thread.join()
    cpu_after = psutil.Process().cpu_times()
    assert lines == ["0", "1", "2", "last"]
    # A busy loop would burn the whole ~1.6 s; sleeping costs a few milliseconds.
    assert (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system) < 0.8


def test_metrics_tail_parses_events_and_skips_garbage(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    _append(path, '{"step": 1, "metrics": {"train/loss": 0.5}}\nnot json\n[1]\n{"step": 2')
    assert tail.read_events() == [{"step": 1, "metrics": {"train/loss": 0.5}}]
    assert tail.skipped == 2
    _append(path, ', "event": "end", "status": "completed"}\n')
    assert tail.read_events() == [{"step": 2, "event": "end", "status": "completed"}]
