"""End to end in a real terminal: tmux starts `autotrain-tui` on a scratch project, one key
launches the default config, the screen (capture-pane) shows the curve and the log, then
the run is killed from the UI and its process group is checked to be gone."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from autotrain_tui.core.groups import group_members
from autotrain_tui.core.runs import read_run
from tests.helpers import REPO, socket_path

ENTRY = Path(sys.executable).parent / "autotrain-tui"


# A private server (its own socket, no user config): nothing else on the machine is touched,
# and no other server's settings (a default-size, a window-size policy) change the screen.
SOCKET = f"autotrain-e2e-{uuid.uuid4().hex[:8]}"
WIDTH, HEIGHT = 120, 40


def tmux(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        check=check,
    )


@pytest.fixture
def tmux_session(ui_project: Path) -> Iterator[str]:
    name = "e2e"
    # The shipped default trains in ~4 s on an idle machine, which can end before the screen
    # is read; this copy of it trains long enough to be watched, then killed.
    default = ui_project / "configs" / "digits.yaml"
    default.write_text(default.read_text().replace("max_epochs: 20", "max_epochs: 2000"))
    env = f"PYTHONPATH={REPO} AUTOTRAIN_TUI_FAKE_GPUS=0 TERM=xterm-256color COLORTERM=truecolor"
    command = f"cd {ui_project} && env {env} {ENTRY} ."
    size = ("-x", str(WIDTH), "-y", str(HEIGHT))
    tmux("new-session", "-d", "-s", name, *size, command, check=True)
    # Pin the size: with no client attached, nothing may shrink the window to 80x24.
    tmux("set-option", "-t", name, "window-size", "manual", check=True)
    tmux("resize-window", "-t", name, *size, check=True)
    shown = tmux("display-message", "-p", "-t", name, "#{window_width}x#{window_height}")
    assert shown.stdout.strip() == f"{WIDTH}x{HEIGHT}", f"tmux window is {shown.stdout!r}"
    try:
        yield name
    finally:
        tmux("kill-server")
        socket_path(SOCKET).unlink(missing_ok=True)  # tmux 3.3 leaves it behind


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session).stdout


def wait_screen(session: str, *needles: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture(session)
        if all(n in screen for n in needles):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"never saw {needles} on screen; last screen:\n{screen}")


def keys(session: str, *names: str) -> None:
    tmux("send-keys", "-t", session, *names, check=True)


def test_launch_watch_and_kill_in_a_real_terminal(ui_project: Path, tmux_session: str) -> None:
    wait_screen(tmux_session, "digits.yaml", "✔ valid")
    keys(tmux_session, "C-r")
    # The log's first lines scroll away within a second at one line per epoch, so the log is
    # recognised by the per-epoch lines that stay on screen while the run trains.
    screen = wait_screen(tmux_session, "● running", "train loss", "/2000  step ")
    runs = [p for p in (ui_project / "runs").iterdir() if (p / "run.json").is_file()]
    assert len(runs) == 1
    run_id = runs[0].name
    assert run_id in screen
    record = read_run(runs[0])
    assert record.pgid is not None and group_members(record.pgid)
    keys(tmux_session, "k")
    wait_screen(tmux_session, f"Kill {run_id}?")
    keys(tmux_session, "y")
    wait_screen(tmux_session, f"killed {run_id}")
    deadline = time.monotonic() + 30
    while group_members(record.pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not group_members(record.pgid), "a process of the run's group survived the kill"
    assert read_run(runs[0]).status.value == "stopped"
    keys(tmux_session, "q")
    deadline = time.monotonic() + 20
    ended = False
    while not ended and time.monotonic() < deadline:
        ended = tmux("has-session", "-t", tmux_session).returncode != 0
        time.sleep(0.2)
    assert ended, "q did not quit the UI"
