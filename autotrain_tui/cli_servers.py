"""`autotrain-tui serve RUN` and `autotrain-tui servers [stop ID]`: HTTP servers over runs.

The server itself is `python -m recipe.serve` (it imports torch; this never does), started
in its own process group and recorded beside its run (autotrain_tui.core.servers).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from autotrain_tui.cli_output import emit_json
from autotrain_tui.cli_parser import PROG, UsageError
from autotrain_tui.core import servers, trust
from autotrain_tui.core.project import Project


def cmd_serve(project: Project, args: argparse.Namespace) -> int:
    if args.trust:
        trust.trust_project(project.root)
    options = servers.ServerOptions(
        args.checkpoint, args.host, args.port, args.max_batch, args.max_wait_ms, args.queue_size
    )
    record = servers.serve_run(project, args.run, options)
    if args.json:
        emit_json({"server": _server_json(record, None)})
        return 0
    log = f"runs/{record.run}/{record.log}"
    print(f"serving {record.run} on {record.url} (server {record.id}, log {log})")
    print(f"stop it with: {PROG} servers stop {record.id}")
    return 0


def cmd_servers(project: Project, args: argparse.Namespace) -> int:
    if args.action == "stop":
        if not args.id:
            raise UsageError(f"servers stop needs an ID (see {PROG} servers)")
        record = servers.stop_server(project.runs_dir, args.id, args.grace)
        print(f"stopped server {record.id} ({record.url}, run {record.run})")
        return 0
    if args.id:
        raise UsageError(f"unexpected {args.id!r}: did you mean `{PROG} servers stop {args.id}`?")
    listed = [(r, servers.health(r)) for r in servers.list_servers(project.runs_dir)]
    if args.json:
        emit_json({"servers": [_server_json(r, h) for r, h in listed]})
        return 0
    if not listed:
        print("no servers running")
        return 0
    rows = [
        [
            r.id,
            r.url,
            r.run,
            ("ready" if h["ready"] else "loading") if h else "not answering",
            str(h["requests_served"]) if h else "-",
        ]
        for r, h in listed
    ]
    rows.insert(0, ["ID", "URL", "RUN", "STATE", "REQUESTS"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _server_json(record: servers.ServerRecord, health: dict[str, Any] | None) -> dict[str, Any]:
    return asdict(record) | {
        "id": record.id,
        "ready": health["ready"] if health else None,
        "requests_served": health["requests_served"] if health else None,
    }
