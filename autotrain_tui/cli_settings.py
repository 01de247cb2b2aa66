"""`autotrain-tui queue` and `autotrain-tui trust`: the project-wide settings, not runs.

The queue's limits (`runs/.queue.json`) and which projects or files may run code are state
every manager process shares; these commands show and change them. Kept apart from
`cli.py`, which holds the per-run commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autotrain_tui.cli_output import emit_json, run_json
from autotrain_tui.cli_parser import PROG
from autotrain_tui.core import queue, trust
from autotrain_tui.core.project import Project
from autotrain_tui.core.queue import QueueSettings
from autotrain_tui.core.runs import RunStatus


def cmd_queue(project: Project, args: argparse.Namespace) -> int:
    settings, problem = queue.read_settings_checked(project.runs_dir)
    if args.max_concurrent is not None or args.gpu_memory_threshold is not None:
        settings = QueueSettings(
            max_concurrent=(
                args.max_concurrent if args.max_concurrent is not None else settings.max_concurrent
            ),
            outside_memory_threshold_mib=(
                args.gpu_memory_threshold
                if args.gpu_memory_threshold is not None
                else settings.outside_memory_threshold_mib
            ),
        )
        project.set_queue_settings(settings)
        problem = None  # a valid file replaced the bad one
    else:
        project.advance_queue()
    queued = sorted(project.list_runs(RunStatus.QUEUED), key=lambda r: (r.queue_order or 0.0, r.id))
    gpu_count = project.inventory.gpu_count()
    limit = settings.concurrency_limit(gpu_count)
    if args.json:
        emit_json(
            {
                "settings": {
                    "max_concurrent": settings.max_concurrent,
                    "effective_max_concurrent": limit,
                    "outside_memory_threshold_mib": settings.outside_memory_threshold_mib,
                },
                "gpu_count": gpu_count,
                "queued": [run_json(r) for r in queued],
                "problems": [] if problem is None else [problem],
            }
        )
    else:
        print(
            f"max concurrent runs: {limit}"
            f"{'' if settings.max_concurrent is not None else ' (default)'}; GPUs: {gpu_count}; "
            f"outside-use threshold: {settings.outside_memory_threshold_mib:g} MiB"
        )
        for position, record in enumerate(queued, 1):
            print(f"{position:>3}. {record.run_dir.name}  ({record.gpus_requested} GPU)")
    if problem is not None:
        print(f"{PROG}: warning: {problem}", file=sys.stderr)
    return 0


def cmd_trust(project: Project | None, args: argparse.Namespace) -> int:
    if args.list:
        projects, files = trust.trusted_projects(), trust.trusted_code_files()
        for path in projects:
            print(path)
        for path in files:
            print(f"{path}  (file)")
        if not projects and not files:
            print(f"nothing is trusted yet (see {PROG} trust --help)", file=sys.stderr)
        return 0
    if args.file:
        if args.revoke:
            found = trust.untrust_code_file(args.file)
            said = "no longer trusted" if found else "was not trusted"
            print(f"{said}: {Path(args.file).resolve()}")
        else:
            print(f"trusted as it is now: {trust.trust_code_file(args.file)}")
        return 0
    assert project is not None
    if args.revoke:
        found = trust.untrust_project(project.root)
        print(f"{'no longer trusted' if found else 'was not trusted'}: {project.root}")
    else:
        trust.trust_project(project.root)
        print(f"trusted: {project.root} (its custom.py and the modules its configs name may run)")
    return 0
