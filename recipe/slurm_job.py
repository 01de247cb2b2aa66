"""The recipe inside a SLURM job: one checkpoint scheme (ours), and one line saying where.

The batch script (written by the run manager) starts `python -m recipe train` under `srun`,
one task per device, and requeues the job when the recipe exits `EXIT_REQUEUE` after
SLURM's warning signal (see recipe.stopping). Lightning would handle that warning itself
when it detects SLURM: its own SIGUSR1 handler writes `hpc_ckpt_*.ckpt` files and requeues
the job, a second checkpoint scheme racing ours. `cluster_plugins` turns that off while
keeping Lightning's SLURM environment (ranks, world size and the rendezvous address from
srun's variables).

Imports nothing heavy at module level: `describe` runs before torch is imported.
"""

from __future__ import annotations

import os
from typing import Any

from recipe.stopping import under_slurm


def cluster_plugins() -> list[Any]:
    """`[SLURMEnvironment(auto_requeue=False)]` when Lightning would detect SLURM, else []."""
    from lightning_fabric.plugins.environments import SLURMEnvironment

    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def describe() -> str | None:
    """`slurm: job J (attempt N) on NODE, rank R of W` inside a SLURM job, else None.

    The attempt counts from 1 (SLURM_RESTART_COUNT + 1: a requeued job is attempt 2); the
    rank and world size are srun's (a job that runs the recipe without srun is rank 0 of 1).
    """
    if not under_slurm():
        return None
    env = os.environ
    restarts = env.get("SLURM_RESTART_COUNT", "0")
    attempt = int(restarts) + 1 if restarts.isdigit() else 1
    node = env.get("SLURMD_NODENAME") or env.get("SLURM_NODELIST") or "?"
    rank = env.get("SLURM_PROCID", "0")
    world = env.get("SLURM_NTASKS") or env.get("SLURM_NPROCS") or "1"
    return f"slurm: job {env['SLURM_JOB_ID']} (attempt {attempt}) on {node}, rank {rank} of {world}"


def announce() -> None:
    """Print `describe()`'s line inside a SLURM job (each rank its own), nothing outside."""
    line = describe()
    if line is not None:
        print(line, flush=True)
