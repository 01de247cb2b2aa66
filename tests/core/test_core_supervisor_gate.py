"""The gate in front of every recipe process: nothing trains before its pid is recorded.

The supervisor starts the recipe behind a pipe and opens it only once run.json holds the
pid (autotrain_tui/core/supervisor.py, GATE). A supervisor SIGKILLed in between used to
leave a recipe training that no stop or kill could reach.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

from autotrain_tui.core.supervisor import EXIT_CANNOT_START, EXIT_GATE_CLOSED, gated


def start_gated(command: list[str]) -> tuple[subprocess.Popen[str], int]:
    read, write = os.pipe()
    try:
        proc = subprocess.Popen(
            gated(command, read),
            pass_fds=(read,),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.close(read)
    return proc, write


def test_opened_the_command_runs_in_the_gates_own_process() -> None:
    code = "import os; print(os.getpid())"
    proc, write = start_gated([sys.executable, "-c", code])
    os.write(write, b"1")
    os.close(write)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert int(out) == proc.pid  # exec in place: the recorded pid is the recipe's


def test_closed_unanswered_nothing_runs() -> None:
    marker = f"/tmp/autotrain-gate-test-{os.getpid()}"
    proc, write = start_gated(["touch", marker])
    os.close(write)  # what the kernel does when the supervisor dies
    assert proc.wait(timeout=60) == EXIT_GATE_CLOSED
    assert not os.path.exists(marker)


def test_a_command_that_cannot_start_says_so() -> None:
    proc, write = start_gated(["/nonexistent/recipe", "train"])
    os.write(write, b"1")
    os.close(write)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_CANNOT_START
    assert "autotrain-tui: cannot start /nonexistent/recipe train: " in err


def test_a_supervisor_killed_before_recording_the_pid_leaves_nothing_running() -> None:
    # A stand-in supervisor starts `sleep` behind the gate, then is SIGKILLed before it
    # could record anything: the gate must end, and `sleep` must never start.
    parent = textwrap.dedent(
        """
        import os, signal, subprocess, sys
        from autotrain_tui.core.supervisor import gated
        read, write = os.pipe()
        proc = subprocess.Popen(gated(["sleep", "300"], read), pass_fds=(read,),
                                start_new_session=True)
        print(proc.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    child = int(result.stdout)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            process = psutil.Process(child)
            if process.status() == psutil.STATUS_ZOMBIE:
                break
            assert "sleep" not in process.name()
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the gated process {child} is still alive")
