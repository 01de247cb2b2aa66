"""The SLURM tests' cluster: one real single-node cluster for the whole session.

Started on first use (tests that do not ask for it never pay for it) and stopped at the end
of the session, whether the tests passed or not; the teardown then checks that no process of
the cluster (daemon, slurmstepd, job) is left. Each test gets SLURM_CONF set, so the code
under test and any subprocess it starts talk to this cluster, never to a real one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slurm_cluster import MARKER, SlurmCluster, marked_pids, running_cluster


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """The session's running cluster (see tests/slurm_cluster.py), in a short dir in /tmp."""
    with running_cluster() as cluster:
        root = str(cluster.root)
        yield cluster
    left = marked_pids(root)
    assert not left, f"processes of the test cluster outlived it: {left}"


@pytest.fixture
def slurm(slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlurmCluster]:
    """The cluster, with SLURM_CONF (and the clean-up marker) in this test's environment.

    Jobs a test leaves behind are cancelled after it, so one test's jobs never hold the
    node's CPUs while the next one runs."""
    for key, value in slurm_cluster.env.items():
        if key in ("SLURM_CONF", MARKER):
            monkeypatch.setenv(key, value)
    yield slurm_cluster
    slurm_cluster.cancel_all()


@pytest.fixture
def job_dir(tmp_path: Path) -> Path:
    """Where a test's job scripts and outputs go (the node is this machine: same filesystem)."""
    return tmp_path
