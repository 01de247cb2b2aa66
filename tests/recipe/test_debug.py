"""`python -m recipe train CONFIG --debug`: one batch of training and one of validation, in
one process, into a scratch directory, with the user's terminal (here: a pipe) as pdb's."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import recipe_env

BREAKING_MODEL = """

@register("breaking_cnn")
class BreakingCNN(nn.Module):
    def __init__(self, input_shape, num_outputs):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.LazyLinear(num_outputs))

    def forward(self, x):
        breakpoint()
        return self.net(x)
"""


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts}


def test_debug_stops_at_a_breakpoint_in_custom_py(project: Path, tmp_path: Path) -> None:
    """One training batch and one validation batch reach the breakpoint (two stops), the
    configured DataLoader workers are not started (one process throughout), and nothing
    is written in the project: the run directory is a scratch one, named on stdout."""
    from autotrain_tui.core.groups import group_members

    with (project / "custom.py").open("a") as custom:
        custom.write(BREAKING_MODEL)
    before = tree(project)
    env = recipe_env()
    env.pop("PYTHONBREAKPOINT", None)
    env["TMPDIR"] = str(tmp_path / "scratch")  # where the system's temp directory is
    (tmp_path / "scratch").mkdir()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "recipe", "train", "configs/image_folder.yaml"),
            *("model=breaking_cnn", "dataloader.num_workers=2", "trainer.max_epochs=3"),
            "--debug",
        ],
        cwd=project,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write("p 'HIT', tuple(x.shape)\nc\n" * 5)
    process.stdin.close()
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 240
        while process.poll() is None and time.monotonic() < deadline:
            seen |= {proc.pid for proc in group_members(process.pid)}
            time.sleep(0.05)
        output = process.stdout.read() if process.stdout else ""
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    assert output.count("(Pdb)") >= 2 and output.count("'HIT'") == 2, output
    assert seen == {process.pid}, f"{len(seen)} processes: DataLoader workers were started"
    scratch = re.search(r"scratch run directory (\S+)", output)
    assert scratch, output
    scratch_dir = Path(scratch.group(1))
    assert scratch_dir.parent == tmp_path / "scratch"
    assert (scratch_dir / "metrics.jsonl").is_file()
    assert tree(project) == before
