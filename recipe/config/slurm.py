"""The `slurm:` section's values: checked where they are written, and filled in for sbatch.

Training never reads this section; the run manager turns it into `#SBATCH` lines of a batch
script. A value SLURM would misread, or one that would break the script (a newline in a
string ends the `#SBATCH` line and starts a shell command), is caught here, at its line and
column in the config, by the same quick check that runs as the user types. The manager calls
`slurm_options` on a config that passed the check to get every value with its default.

Torch-free and standard-library only, like the rest of `recipe.config`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from recipe.config.errors import Position, Problem

_SECTION = "slurm"
# SLURM's own time formats (sbatch --time), less "MM:SS": people write "1:30" meaning an
# hour and a half, and SLURM would give the job ninety seconds.
_MINUTES = re.compile(r"\d+")
_HMS = re.compile(r"(\d+):(\d\d):(\d\d)")
_DAYS = re.compile(r"(\d+)-(\d{1,2})(?::(\d\d)(?::(\d\d))?)?")
_TWO_PARTS = re.compile(r"(\d+):(\d+)")
_MEM = re.compile(r"(\d+)([KMGT]?)", re.IGNORECASE)
_OPTION = re.compile(r"--[A-Za-z][A-Za-z0-9-]*(=\S+)?")
_NAME_KEYS = ("partition", "account", "qos")
_MAX_SIGNAL_S = 65535  # sbatch --signal's limit
# Options the batch script sets itself, or that have a key of their own in this section.
_OWNED = {
    "partition": "use slurm.partition",
    "time": "use slurm.time",
    "gpus-per-node": "use slurm.gpus_per_node",
    "cpus-per-task": "use slurm.cpus_per_task",
    "mem": "use slurm.mem",
    "nodes": "use slurm.nodes (or trainer.num_nodes)",
    "ntasks-per-node": "it follows trainer.devices",
    "ntasks": "it follows trainer.devices x nodes",
    "account": "use slurm.account",
    "qos": "use slurm.qos",
    "signal": "use slurm.signal_before_s",
    "requeue": "use slurm.requeue",
    "no-requeue": "use slurm.requeue: false",
    "output": "the job writes the run's stdout.log",
    "error": "the job writes the run's stdout.log",
    "open-mode": "the job appends to the run's stdout.log",
    "job-name": "the job is named after the run",
}
_TIME_FORMATS = "minutes (e.g. 90), 'HH:MM:SS' ('01:30:00'), 'D-HH', 'D-HH:MM' or 'D-HH:MM:SS'"


def time_minutes(value: int | str) -> int | str:
    """A time limit in whole minutes (seconds round up), or why `value` is not one."""
    if isinstance(value, int):
        return value if value > 0 else "must be at least 1 minute; null means the partition's"
    text = value
    if _MINUTES.fullmatch(text):
        return time_minutes(int(text))
    days, hours, minutes, seconds = 0, 0, 0, 0
    if match := _HMS.fullmatch(text):
        hours, minutes, seconds = (int(g) for g in match.groups())
    elif match := _DAYS.fullmatch(text):
        days, hours = int(match[1]), int(match[2])
        minutes, seconds = int(match[3] or 0), int(match[4] or 0)
        if hours > 23:
            return f"has {hours} hours after the day; write the hours as 00-23"
    elif match := _TWO_PARTS.fullmatch(text):
        return (
            f"is ambiguous: SLURM reads 'M:SS' ({match[1]} min {match[2]} s), not hours; "
            f"write {_TIME_FORMATS}"
        )
    else:
        return f"is not a time limit; write {_TIME_FORMATS}"
    if minutes > 59 or seconds > 59:
        return "has minutes or seconds over 59; write them as 00-59"
    total_s = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return -(-total_s // 60) if total_s > 0 else "is zero; null means the partition's limit"


def _mem(value: int | str) -> str | None:
    """`value` as sbatch's --mem (e.g. '32G', '500M'), or None when it is not a size."""
    if isinstance(value, int):
        return f"{value}M" if value >= 0 else None
    match = _MEM.fullmatch(value)
    return f"{int(match[1])}{(match[2] or 'M').upper()}" if match else None


def _as_text(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def slurm_problems(data: dict[str, Any], locate: Callable[..., Position]) -> list[Problem]:
    """Every bad value of the `slurm:` section of a type-checked config, at its position.

    Values of the wrong type are skipped: the type check reported them already.
    """
    found: list[Problem] = []
    section = data.get(_SECTION) or {}

    def add(path: tuple[Any, ...], message: str) -> None:
        found.append(Problem(locate((_SECTION, *path)), message))

    for key in _NAME_KEYS:
        value = section.get(key)
        if isinstance(value, str) and (not value.strip() or re.search(r"\s", value)):
            add((key,), f"slurm.{key} {value!r} must be one word (no spaces or line breaks)")
    limit = section.get("time")
    minutes: int | None = None
    if isinstance(limit, (int, str)) and not isinstance(limit, bool):
        checked = time_minutes(limit)
        if isinstance(checked, str):
            add(("time",), f"slurm.time {_as_text(limit)} {checked}")
        else:
            minutes = checked
    mem = section.get("mem")
    if isinstance(mem, (int, str)) and not isinstance(mem, bool) and _mem(mem) is None:
        add(
            ("mem",),
            f"slurm.mem {_as_text(mem)} is not a memory size; write a whole number with K, M, "
            "G or T (e.g. '32G', '500M'), or a whole number of megabytes",
        )
    for key, least in (("gpus_per_node", 0), ("cpus_per_task", 1), ("nodes", 1)):
        value = section.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < least:
            add((key,), f"slurm.{key} must be at least {least} (or null), got {value}")
    signal_s = section.get("signal_before_s")
    if isinstance(signal_s, int) and not isinstance(signal_s, bool):
        if not 0 <= signal_s <= _MAX_SIGNAL_S:
            add(("signal_before_s",), f"slurm.signal_before_s must be 0 to 65535, got {signal_s}")
        elif minutes is not None and signal_s >= minutes * 60:
            add(
                ("signal_before_s",),
                f"slurm.signal_before_s {signal_s} is not shorter than slurm.time "
                f"({minutes} min): the warning would come before training; lower it",
            )
    nodes, num_nodes = section.get("nodes"), (data.get("trainer") or {}).get("num_nodes")
    if isinstance(nodes, int) and isinstance(num_nodes, int) and num_nodes not in (1, nodes):
        add(
            ("nodes",),
            f"slurm.nodes {nodes} disagrees with trainer.num_nodes {num_nodes}; drop "
            "slurm.nodes (it follows trainer.num_nodes) or make them equal",
        )
    for key in ("setup", "extra"):
        items = section.get(key)
        for index, item in enumerate(items if isinstance(items, list) else []):
            where = f"slurm.{key}[{index}]"
            if not isinstance(item, str):
                what = "a shell line" if key == "setup" else "an sbatch option"
                add((key, index), f"{where} must be a string ({what}), got {_as_text(item)}")
            elif key == "extra":
                problem = _extra_problem(item)
                if problem:
                    add((key, index), f"{where} {item!r} {problem}")
            elif "\n" in item or "\r" in item:
                add((key, index), f"{where} holds a line break; write one shell line per item")
    return found


def _extra_problem(option: str) -> str | None:
    """Why `option` cannot be one `#SBATCH` line of the batch script, or None."""
    if "\n" in option or "\r" in option:
        return "holds a line break; write one option per item"
    if not _OPTION.fullmatch(option):
        if option.startswith("--") and re.fullmatch(r"--[A-Za-z][\w-]*\s+\S+", option):
            name, value = option.split(maxsplit=1)
            return f"must be one word: write '{name}={value}'"
        return "is not an sbatch option; write '--name' or '--name=value' (e.g. --constraint=a100)"
    name = option[2:].split("=", 1)[0]
    if name in _OWNED:
        return f"is set by the batch script: {_OWNED[name]}"
    return None


def _is_gpu(accelerator: Any) -> bool:
    return accelerator in ("gpu", "cuda")


def _device_count(devices: Any) -> int | None:
    """trainer.devices as a number of ranks per node; None when Lightning picks ("auto", -1)."""
    if isinstance(devices, list):
        return len(devices)
    if isinstance(devices, int) and not isinstance(devices, bool) and devices > 0:
        return devices
    if isinstance(devices, str) and devices.strip().isdigit() and int(devices) > 0:
        return int(devices)
    if isinstance(devices, str) and "," in devices:  # "0,1": those GPUs
        return len([d for d in devices.split(",") if d.strip()])
    return None


def slurm_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """The `slurm:` section of a validated config with every default filled in.

    Keys: partition, account, qos (str | None); time (str for --time, or None) and
    time_minutes (int | None); nodes, ntasks_per_node, cpus_per_task (int); gpus_per_node
    (int | None: ask for none); mem (str such as '32G', or None); signal_before_s (int);
    requeue (bool); setup, extra (list of str). `nodes` is slurm.nodes, else
    trainer.num_nodes; when it differs from trainer.num_nodes (which then is 1), launch with
    the override `trainer.num_nodes=<nodes>`: Lightning refuses a mismatch with SLURM.
    """
    section = dict(cfg.get(_SECTION) or {})
    trainer = cfg.get("trainer") or {}
    loader = cfg.get("dataloader") or {}
    limit = section.get("time")
    minutes = time_minutes(limit) if limit is not None else None
    gpu = _is_gpu(trainer.get("accelerator"))
    count = _device_count(trainer.get("devices"))
    gpus = section.get("gpus_per_node")
    if gpus is None and gpu:
        gpus = count or 1
    mem = section.get("mem")
    nodes = section.get("nodes")
    return {
        "partition": section.get("partition"),
        "time": str(limit) if limit is not None else None,
        "time_minutes": minutes if isinstance(minutes, int) else None,
        "nodes": nodes if nodes is not None else int(trainer.get("num_nodes") or 1),
        "ntasks_per_node": count or (gpus if gpu and gpus else 1),
        "gpus_per_node": gpus,
        "cpus_per_task": section.get("cpus_per_task") or int(loader.get("num_workers") or 0) + 1,
        "mem": _mem(mem) if mem is not None else None,
        "account": section.get("account"),
        "qos": section.get("qos"),
        "signal_before_s": int(section.get("signal_before_s", 90)),
        "requeue": bool(section.get("requeue", True)),
        "setup": list(section.get("setup") or []),
        "extra": list(section.get("extra") or []),
    }
