"""The UI ends when its terminal goes away, whatever started it (issue #11).

tmux starts the UI behind a wrapper — a shell that does not exec it, or `make run` — the
session is killed, and the UI's own process must end: before, a UI behind a wrapper read EOF
from its hung-up terminal in a loop at 100% of a core, forever."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from autotrain_tui.ui.terminal import wait_for_hangup
from tests.helpers import REPO, socket_path

ENTRY = Path(sys.executable).parent / "autotrain-tui"
VENV = Path(sys.executable).parent.parent


@pytest.fixture
def tmux_socket() -> Iterator[str]:
    name = f"autotrain-hup-{uuid.uuid4().hex[:8]}"
    try:
        yield name
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)
        socket_path(name).unlink(missing_ok=True)  # tmux 3.3 leaves it behind


def ui_processes(root: psutil.Process) -> list[psutil.Process]:
    """The UI's process among `root` and its descendants (the wrapper's children)."""
    found = []
    for process in [root, *root.children(recursive=True)]:
        try:
            if str(ENTRY) in process.cmdline():
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


# Each wrapper is the pane's own process (tmux runs a command given as several words without
# a shell), the session leader that the terminal's hang-up signals.
WRAPPERS: dict[str, list[str]] = {
    # The README's golden path, with this checkout's Makefile and virtual environment: make
    # waits for its recipe when it gets SIGHUP, so the UI sees only EOF on its input.
    "make": [
        "make",
        "-s",
        "-f",
        str(REPO / "Makefile"),
        f"VENV={VENV}",
        "-o",
        str(VENV / ".installed"),
        "run",
    ],
    # A launcher that ignores SIGHUP (nohup-like): the UI inherits that and sees only EOF.
    "shell ignoring SIGHUP": ["sh", "-c", f"trap '' HUP; {shlex.quote(str(ENTRY))} . ; :"],
    # The UI as the pane's own command.
    "none": [str(ENTRY), "."],
}


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_the_ui_ends_when_its_terminal_goes_away(
    ui_project: Path, tmux_socket: str, wrapper: str
) -> None:
    tmux = ["tmux", "-L", tmux_socket, "-f", "/dev/null"]
    env = [f"PYTHONPATH={REPO}", "AUTOTRAIN_TUI_FAKE_GPUS=0", "TERM=xterm-256color"]
    env_args = [arg for pair in (("-e", e) for e in env) for arg in pair]
    size = ["-x", "100", "-y", "30"]
    start = ["new-session", "-d", "-s", "s", "-c", str(ui_project), *size, *env_args]
    subprocess.run([*tmux, *start, *WRAPPERS[wrapper]], check=True)
    pane_pid = int(
        subprocess.run(
            [*tmux, "display-message", "-p", "-t", "s", "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    deadline = time.monotonic() + 120
    screen = ""
    while "digits.yaml" not in screen and time.monotonic() < deadline:
        time.sleep(0.2)
        screen = subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "s"], capture_output=True, text=True
        ).stdout
    assert "digits.yaml" in screen, f"the UI never drew; screen:\n{screen}"
    uis = ui_processes(psutil.Process(pane_pid))
    # One process: a shell between make and the UI (a recipe line that does not exec) would
    # be a second whose command line names the entry point.
    assert len(uis) == 1, f"found {[u.cmdline() for u in uis]}"
    ui = uis[0]
    subprocess.run([*tmux, "kill-session", "-t", "s"], capture_output=True)
    try:
        ui.wait(timeout=60)
    except psutil.TimeoutExpired:
        cpu = ui.cpu_percent(interval=1.0)
        pytest.fail(f"the UI ({wrapper}) outlived its terminal by 60 s, at {cpu:.0f}% CPU")
    finally:
        if ui.is_running():
            os.kill(ui.pid, 9)


def test_wait_for_hangup_sees_a_terminal_close_and_nothing_else() -> None:
    """A pseudo-terminal whose other end closes hangs up; one with input waiting does not."""
    master, slave = os.openpty()
    try:
        os.write(master, b"q")  # input pending is not a hang-up
        polls = iter(range(3))
        assert not wait_for_hangup(slave, lambda: next(polls, None) is None, interval_s=0.05)
        os.close(master)
        master = -1
        assert wait_for_hangup(slave, lambda: False, interval_s=0.05)
    finally:
        os.close(slave)
        if master >= 0:
            os.close(master)
