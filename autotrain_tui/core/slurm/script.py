"""The batch script of a SLURM run (`runs/<id>/job.sbatch`), from its config.

The script plays the supervisor's part on the node: it sends everything to `stdout.log`
(appended across requeues and resumes, never truncated), runs the recipe as a job step under
`srun` (so Lightning's SLURM environment sets up DDP from `--nodes` / `--ntasks-per-node`),
writes the step's exit status to `exit_code` atomically after `srun` returns, and requeues the
job when the recipe exits 4 (it saved a checkpoint on the warning signal). A requeued or
resumed attempt continues from `checkpoints/last.ckpt`. It is kept in the run directory and
is self-contained: `sbatch runs/<id>/job.sbatch` submits it again by hand.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

JOB_SCRIPT = "job.sbatch"
EXIT_CODE_FILE = "exit_code"
ATTEMPT_FILE = "slurm_attempt.json"  # the job id and SLURM_RESTART_COUNT of the latest attempt
EXIT_REQUEUE = 4  # the recipe saved last.ckpt on the warning signal: requeue the job


@dataclass(frozen=True)
class SlurmOptions:
    """The job's resources: the config's `slurm:` section and what `trainer` implies."""

    nodes: int = 1
    ntasks_per_node: int = 1
    cpus_per_task: int = 1
    gpus_per_node: int | None = None
    partition: str | None = None
    time: str | None = None
    mem: str | None = None
    account: str | None = None
    qos: str | None = None
    signal_before_s: int = 90
    requeue: bool = True
    setup: tuple[str, ...] = ()
    extra: tuple[str, ...] = field(default_factory=tuple)

    def sbatch_lines(self) -> list[str]:
        """The `#SBATCH` options, in the order a reader expects them."""
        lines = [f"--nodes={self.nodes}", f"--ntasks-per-node={self.ntasks_per_node}"]
        lines.append(f"--cpus-per-task={self.cpus_per_task}")
        if self.gpus_per_node:
            lines.append(f"--gpus-per-node={self.gpus_per_node}")
        for name, value in (
            ("partition", self.partition),
            ("time", self.time),
            ("mem", self.mem),
            ("account", self.account),
            ("qos", self.qos),
        ):
            if value is not None:
                lines.append(f"--{name}={value}")
        if self.signal_before_s > 0:
            lines.append(f"--signal=USR1@{self.signal_before_s}")
        lines.append("--requeue" if self.requeue else "--no-requeue")
        lines.extend(self.extra)
        return lines


def options_from(values: dict[str, Any]) -> SlurmOptions:
    """SlurmOptions from the recipe's `slurm_options(config)` (recipe/config/slurm.py: the
    one place that knows the section's defaults and what `trainer` implies)."""
    return SlurmOptions(
        nodes=int(values["nodes"]),
        ntasks_per_node=int(values["ntasks_per_node"]),
        cpus_per_task=int(values["cpus_per_task"]),
        gpus_per_node=int(values["gpus_per_node"]) if values.get("gpus_per_node") else None,
        partition=values.get("partition"),
        time=values.get("time"),
        mem=values.get("mem"),
        account=values.get("account"),
        qos=values.get("qos"),
        signal_before_s=int(values.get("signal_before_s", 90)),
        requeue=bool(values.get("requeue", True)),
        setup=tuple(values.get("setup") or ()),
        extra=tuple(values.get("extra") or ()),
    )


def batch_script(
    *,
    job_name: str,
    run_dirs: Sequence[str],
    options: SlurmOptions,
    python: str,
    recipe_module: str,
    cwd: str,
    pythonpath: str | None,
    resume: bool = False,
) -> str:
    """The script for one run (`run_dirs` of one) or a job array over several (a sweep).

    Paths are absolute: the script runs on a node, in whatever directory SLURM gives it.
    """
    q = shlex.quote
    header = [
        "#!/bin/bash",
        f"# autotrain-tui: {'job array of sweep' if len(run_dirs) > 1 else 'run'} {job_name}.",
        f"#SBATCH --job-name={job_name}",
    ]
    if len(run_dirs) == 1:
        # sbatch reads a double-quoted value whole (checked: a path with a space works).
        header.append(f'#SBATCH --output="{run_dirs[0]}/stdout.log"')
        header.append("#SBATCH --open-mode=append")
    else:
        header.append(f"#SBATCH --array=0-{len(run_dirs) - 1}")
        header.append("#SBATCH --output=/dev/null")  # each task appends to its own run's log
    header += [f"#SBATCH {line}" for line in options.sbatch_lines()]
    body = [""]
    if len(run_dirs) == 1:
        body.append(f"run={q(run_dirs[0])}")
    else:
        body.append("runs=(" + " ".join(q(r) for r in run_dirs) + ")")
        body.append('run="${runs[$SLURM_ARRAY_TASK_ID]}"')
    body += [
        'exec >>"$run/stdout.log" 2>&1',
        f"cd {q(cwd)} || exit 1",
    ]
    if pythonpath:
        body.append(f"export PYTHONPATH={q(pythonpath)}")
    body += [
        "export PYTHONUNBUFFERED=1",
        f'rm -f "$run/{EXIT_CODE_FILE}"',
        'attempt="${SLURM_RESTART_COUNT:-0}"',
        'job="${SLURM_ARRAY_JOB_ID:+${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}}"',
        'job="${job:-$SLURM_JOB_ID}"',
        'echo "autotrain-tui: job ${job} attempt ${attempt} on '
        '${SLURMD_NODENAME:-?} at $(date -Is)"',
        'printf \'{"job_id": "%s", "attempt": %d}\\n\' "$job" "$attempt" '
        f'> "$run/{ATTEMPT_FILE}.tmp" && mv -f "$run/{ATTEMPT_FILE}.tmp" "$run/{ATTEMPT_FILE}"',
        *options.setup,
    ]
    train = f"{q(python)} -m {recipe_module} train"
    fresh = f'srun {train} "$run/config.yaml" --run-dir "$run"'
    again = f'srun {train} --resume "$run"'
    if resume:
        body.append(again)
    else:
        body += [
            'if [ "$attempt" -gt 0 ] && [ -f "$run/checkpoints/last.ckpt" ]; then',
            f"  {again}",
            "else",
            f"  {fresh}",
            "fi",
        ]
    body += [
        "code=$?",
        'printf \'{"exit_code": %d, "job_id": "%s", "attempt": %d}\\n\' '
        '"$code" "$job" "$attempt" '
        f'> "$run/{EXIT_CODE_FILE}.tmp" && mv -f "$run/{EXIT_CODE_FILE}.tmp" '
        f'"$run/{EXIT_CODE_FILE}"',
        'echo "autotrain-tui: srun exited $code at $(date -Is)"',
        *(
            [
                f'if [ "$code" -eq {EXIT_REQUEUE} ]; then',
                '  scontrol requeue "$SLURM_JOB_ID"',
                "fi",
            ]
            if options.requeue
            else []
        ),
        'exit "$code"',
    ]
    return "\n".join(header + body) + "\n"
