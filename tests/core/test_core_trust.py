"""Project trust is remembered per resolved path, outside the project, and fails safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotrain_tui.core import trust


def test_a_project_is_untrusted_until_trusted_and_the_decision_lives_outside_it(
    tmp_path: Path,
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    assert not trust.is_trusted(project)
    with pytest.raises(
        trust.UntrustedProjectError, match=r"not trusted yet: run `autotrain-tui trust -C "
    ):
        trust.require_trusted(project, "launching configs/a.yaml")
    trust.trust_project(project / "." / ".." / "proj")  # the same directory, spelled otherwise
    assert trust.is_trusted(project)
    trust.require_trusted(project, "launching")
    assert not list(project.iterdir())  # a project cannot vouch for itself
    assert trust.trust_file().is_file()
    assert trust.untrust_project(project)
    assert not trust.is_trusted(project)
    assert not trust.untrust_project(project)


def test_a_damaged_trust_file_trusts_nothing_and_is_rewritten(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    trust.trust_file().parent.mkdir(parents=True, exist_ok=True)
    trust.trust_file().write_text('{"projects": {"' + str(project) + '": tru')
    assert not trust.is_trusted(project)
    trust.trust_project(project)
    assert trust.trusted_projects() == [str(project.resolve())]
