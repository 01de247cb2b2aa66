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

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autotrain_tui.core.errors import ManagerError

JOB_SCRIPT = "job.sbatch"
EXIT_CODE_FILE = "exit_code"
ATTEMPT_FILE = "slurm_attempt.json"  # the job id and SLURM_RESTART_COUNT of the latest attempt
EXIT_REQUEUE = 4  # the recipe saved last.ckpt on the warning signal: requeue the job
_GPU_ACCELERATORS = ("gpu", "cuda")


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


def options_from_config(config: dict[str, Any]) -> SlurmOptions:
    """SlurmOptions from a parsed config (validated by `recipe check` before it gets here)."""
    trainer = config.get("trainer") if isinstance(config.get("trainer"), dict) else {}
    loader = config.get("dataloader") if isinstance(config.get("dataloader"), dict) else {}
    section = config.get("slurm") if isinstance(config.get("slurm"), dict) else {}
    assert isinstance(trainer, dict) and isinstance(loader, dict) and isinstance(section, dict)
    tasks = _task_count(trainer.get("devices", "auto"))
    num_nodes = int(trainer.get("num_nodes") or 1)
    nodes = section.get("nodes") or num_nodes
    accelerator = str(trainer.get("accelerator", "auto")).lower()
    gpus = section.get("gpus_per_node")
    if gpus is None and accelerator in _GPU_ACCELERATORS:
        gpus = tasks
    cpus = section.get("cpus_per_task") or int(loader.get("num_workers") or 0) + 1
    time_limit = section.get("time")
    return SlurmOptions(
        nodes=int(nodes),
        ntasks_per_node=tasks,
        cpus_per_task=int(cpus),
        gpus_per_node=int(gpus) if gpus else None,
        partition=section.get("partition"),
        time=str(time_limit) if time_limit is not None else None,
        mem=str(section["mem"]) if section.get("mem") is not None else None,
        account=section.get("account"),
        qos=section.get("qos"),
        signal_before_s=int(section.get("signal_before_s", 90)),
        requeue=bool(section.get("requeue", True)),
        setup=tuple(str(line) for line in section.get("setup") or ()),
        extra=tuple(str(line) for line in section.get("extra") or ()),
    )


def _task_count(devices: Any) -> int:
    """One task per device: an int is itself, a list its length, `auto` one."""
    if isinstance(devices, str) and re.fullmatch(r"\d+", devices.strip()):
        devices = int(devices)
    if isinstance(devices, bool) or devices in ("auto", None):
        return 1
    if isinstance(devices, int):
        if devices < 1:
            raise ManagerError(
                f"trainer.devices: {devices} on SLURM: give the number of devices per node "
                "(one task each), e.g. trainer.devices=4"
            )
        return devices
    if isinstance(devices, list):
        return max(len(devices), 1)
    if isinstance(devices, str) and "," in devices:
        return len([d for d in devices.split(",") if d.strip()])
    return 1


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
        header.append(f"#SBATCH --output={run_dirs[0]}/stdout.log")
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
        f'if [ "$code" -eq {EXIT_REQUEUE} ]; then',
        '  scontrol requeue "$SLURM_JOB_ID"',
        "fi",
        'exit "$code"',
    ]
    return "\n".join(header + body) + "\n"
