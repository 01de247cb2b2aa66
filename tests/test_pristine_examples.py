"""Tests copy the shipped examples as committed, never the user's edited working files.

The README's golden path has the user edit configs/digits.yaml; `make test` must pass all
the same, so the scratch projects come from `git archive HEAD`, not the working tree.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import export_shipped, shipped_config_names


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def test_a_users_edits_and_new_configs_never_reach_a_test(tmp_path: Path) -> None:
    repo = tmp_path / "checkout"
    (repo / "configs").mkdir(parents=True)
    (repo / "configs" / "digits.yaml").write_text("trainer: {max_epochs: 20}\n")
    (repo / "custom.py").write_text("# shipped\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "shipped")
    # The user follows the README: edits the default config and custom.py, adds a config.
    (repo / "configs" / "digits.yaml").write_text("trainer: {max_epochs: 'oops'\n")
    (repo / "custom.py").write_text("raise SystemExit('edited')\n")
    (repo / "configs" / "mine.yaml").write_text("broken: [\n")

    scratch = tmp_path / "scratch"
    export_shipped(scratch, repo)

    assert (scratch / "configs" / "digits.yaml").read_text() == "trainer: {max_epochs: 20}\n"
    assert (scratch / "custom.py").read_text() == "# shipped\n"
    assert not (scratch / "configs" / "mine.yaml").exists()
    assert shipped_config_names(repo) == ["digits.yaml"]


def test_outside_git_the_working_files_are_copied(tmp_path: Path) -> None:
    repo = tmp_path / "tarball"
    (repo / "configs").mkdir(parents=True)
    (repo / "configs" / "a.yaml").write_text("x: 1\n")
    (repo / "custom.py").write_text("# here\n")
    scratch = tmp_path / "scratch"
    export_shipped(scratch, repo)
    assert (scratch / "configs" / "a.yaml").read_text() == "x: 1\n"
    assert shipped_config_names(repo) == ["a.yaml"]
