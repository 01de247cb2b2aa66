"""The recipe: a fixed, readable training pipeline driven by one YAML config and custom.py.

`python -m recipe check|train|predict`. The `recipe.config` subpackage is torch-free so
that the UI can validate a config as the user types; everything else imports torch.
"""

__all__ = [
    "EXIT_CONFIG_ERROR",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_PRUNED",
    "EXIT_REQUEUE",
    "EXIT_STOPPED",
]

# Exit statuses of `python -m recipe train` (docs/run-directory.md is the contract).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG_ERROR = 2
EXIT_STOPPED = 3
# Under SLURM, SIGUSR1 (the warning before a time limit or a preemption): checkpoint saved,
# the batch script requeues the job and the next attempt resumes (`train --resume`).
EXIT_REQUEUE = 4
# A search sweep's pruner ended the run (the `prune` control command): checkpoint saved.
EXIT_PRUNED = 5
