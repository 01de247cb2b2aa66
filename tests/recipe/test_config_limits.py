"""Configs that would cost unbounded time or memory are refused with one clear line.

Alias bombs (a few hundred bytes that expand to billions of values), files far larger than
any config, endless nesting: through `python -m recipe check` (a real subprocess, whose peak
memory its parent reads from the kernel) and through the editor's check-as-you-type.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from autotrain_tui.ui.widgets.editor import quick_problems
from tests.helpers import recipe_env

# Generous: the refusal itself costs well under 10 MB; the unbounded code took 612 MB for
# the 377-byte bomb and exhausted memory on the 601-byte one.
PEAK_BYTES = 50 * 1024 * 1024
CHILD_PEAK_KIB = 300 * 1024  # a whole Python process: interpreter, ruamel, the recipe


def alias_bomb(size: int) -> str:
    """A config of exactly `size` bytes: nine-wide lists of aliases, each to the last."""
    lines = ["data: {_target_: digits}", "model: {_target_: mlp}", "a0: &a0 [x,x,x,x,x,x,x,x,x]"]
    level = 0
    while sum(len(line) + 1 for line in lines) + 47 <= size - 2:
        level += 1
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    return text + "#" * (size - len(text) - 1) + "\n"


def run_check_measured(path: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """`python -m recipe check PATH` as a user runs it, and its peak resident memory (KiB).

    A small parent process runs it as its only child, so RUSAGE_CHILDREN is that one run.
    """
    parent = textwrap.dedent(
        """\
        import json, resource, subprocess, sys
        done = subprocess.run([sys.executable, "-m", "recipe", "check", sys.argv[1]],
                              capture_output=True, text=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(json.dumps([done.returncode, done.stdout, done.stderr, peak]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", parent, path],
        cwd=cwd,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    code, stdout, stderr, peak = json.loads(out.stdout)
    return subprocess.CompletedProcess([path], code, stdout, stderr), peak


@pytest.mark.parametrize("size", [377, 601])
def test_an_alias_bomb_is_refused_by_recipe_check_with_bounded_memory(
    project: Path, size: int
) -> None:
    text = alias_bomb(size)
    assert len(text.encode()) == size
    (project / "configs" / "bomb.yaml").write_text(text)
    result, peak_kib = run_check_measured("configs/bomb.yaml", project)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("configs/bomb.yaml:7:10: alias '*a3' expands the config past "), (
        lines
    )
    assert "use fewer nested aliases, or write the values out" in lines[0]
    assert lines[1:] == ["1 problem(s) found; nothing was trained."]
    assert peak_kib < CHILD_PEAK_KIB, f"peak RSS {peak_kib} KiB"


@pytest.mark.parametrize("size", [377, 601])
def test_an_alias_bomb_typed_in_the_editor_is_refused_with_bounded_memory(
    tmp_path: Path, size: int
) -> None:
    text = alias_bomb(size)
    tracemalloc.start()
    try:
        for cut in (size - 40, size - 20, size):  # three keystrokes' worth of checks
            found = quick_problems(text[:cut], tmp_path / "configs" / "b.yaml", tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(line, col) for line, col, _ in found] == [(7, 10)]
    assert found[0][2].startswith("alias '*a3' expands the config past 10,000 values")
    assert peak < PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"


def test_a_few_anchors_and_merge_keys_stay_welcome(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        data: {_target_: digits}
        model: &net
          _target_: mlp
          hidden: &widths [64, 32]
        optimizer: {_target_: adamw, lr: 0.001}
        scheduler:
          _target_: step
          step_size: 2
        callbacks:
          - {_target_: early_stopping, monitor: val/loss}
        predict: {top_k: 2}
        """
    )
    assert quick_problems(text, tmp_path / "c.yaml", tmp_path) == []


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    text = "data: {_target_: digits}\nmodel: &m {_target_: mlp, hidden: [*m]}\n"
    ((line, col, message),) = quick_problems(text, tmp_path / "c.yaml", tmp_path)
    assert (line, col) == (2, 36)
    assert message.startswith("alias '*m' is inside the very '&m' it refers to")


def test_endless_nesting_is_refused_at_its_place(tmp_path: Path) -> None:
    text = "data: {_target_: digits}\nmodel: " + "[" * 20_000 + "]" * 20_000 + "\n"
    ((line, col, message),) = quick_problems(text, tmp_path / "c.yaml", tmp_path)
    assert (line, col) == (2, 57)
    assert message.startswith("values nested more than 50 levels deep")


def test_a_data_file_given_as_config_is_refused_by_its_size(project: Path) -> None:
    rows = "a,b,label\n" + "".join(f"{i},{i * 0.5},{i % 7}\n" for i in range(400_000))
    (project / "data.csv").write_text(rows)
    assert len(rows) == 6_866_680  # 6.5 MiB of CSV
    result, _ = run_check_measured("data.csv", project)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(
        "data.csv:1:1: file is 6.5 MiB, larger than any config (1 MiB at most): "
        "is this the config you meant?"
    )
    found = quick_problems(rows, project / "data.csv", project)  # opened in the editor
    assert [m for _, _, m in found] == [
        result.stderr.splitlines()[0].removeprefix("data.csv:1:1: ")
    ]


def test_an_alias_bomb_on_the_command_line_is_refused(project: Path) -> None:
    levels = ["&l0 [x,x,x,x,x,x,x,x,x]"] + [
        f"&l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)
    ]
    override = "model.hidden=[" + ", ".join(levels) + "]"
    result = subprocess.run(
        [sys.executable, "-m", "recipe", "check", "configs/digits.yaml", override],
        cwd=project,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("<command line>:1:1: override 'model.hidden=[&l0 [x,x,x,x,x,x,x,x,x")
    assert "alias '*l3' expands the config past 10,000 values" in first


def interpolation_bomb(levels: int, *, text: bool) -> str:
    """Like an alias bomb, with `${…}`: each level refers nine times to the one before."""
    lines = ["data: {_target_: digits}", "model:", "  _target_: mlp"]
    lines.append("  l0: xxxxxxxxxx" if text else "  l0: [x,x,x,x,x,x,x,x,x]")
    for i in range(1, levels):
        ref = f"${{model.l{i - 1}}}"
        lines.append(
            f'  l{i}: "{ref * 9}"' if text else f"  l{i}: [" + ", ".join([f'"{ref}"'] * 9) + "]"
        )
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (False, (7, 8, "interpolation '${model.l2}' expands the config past 10,000 values")),
        (True, (9, 7, "interpolation '${model.l4}' expands the config past 1 MiB of text")),
    ],
)
def test_an_interpolation_bomb_is_refused_with_bounded_memory(
    tmp_path: Path, text: bool, expected: tuple[int, int, str]
) -> None:
    bomb = interpolation_bomb(10, text=text)  # 9⁹ values, or 3.9 GB of text, unbounded
    tracemalloc.start()
    try:
        found = quick_problems(bomb, tmp_path / "c.yaml", tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(found) == 1
    line, col, message = found[0]
    assert (line, col) == expected[:2]
    assert message.startswith(expected[2])
    assert message.endswith("use fewer nested interpolations")
    assert peak < PEAK_BYTES, f"peak {peak / 1e6:.0f} MB"


def test_a_long_written_out_list_with_an_alias_is_not_mistaken_for_a_bomb(tmp_path: Path) -> None:
    names = ", ".join(f"class{i}" for i in range(20_000))  # 20,000 values, 250 KB
    text = f"data: {{_target_: digits}}\nmodel: &m {{_target_: mlp}}\nclasses: [{names}]\nx: *m\n"
    found = quick_problems(text, tmp_path / "c.yaml", tmp_path)
    assert [m for _, _, m in found] == [
        "unknown section 'classes' (sections: project, data, dataloader, model, loss, optimizer, "
        "scheduler, trainer, callbacks, predict, media, slurm)",
        "unknown section 'x' (sections: project, data, dataloader, model, loss, optimizer, "
        "scheduler, trainer, callbacks, predict, media, slurm)",
    ]


def test_a_long_list_may_be_copied_once_by_alias_or_interpolation(tmp_path: Path) -> None:
    names = ", ".join(f"c{i}" for i in range(20_000))
    text = (
        "data: {_target_: digits}\n"
        f"model: {{_target_: mlp, names: &names [{names}]}}\n"
        'loss: {_target_: cross_entropy, names: *names, again: "${model.names}"}\n'
    )
    found = quick_problems(text, tmp_path / "c.yaml", tmp_path)
    assert found == []
