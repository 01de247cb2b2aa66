"""The SLURM backend of the run manager: batch scripts, `sbatch`, one `squeue` per poll,
`scancel`. A SLURM run has the same run directory as a local one; `run.json` says
`"backend": "slurm"` and holds a `slurm` object (`record.SlurmInfo`). See docs/slurm.md.
"""
