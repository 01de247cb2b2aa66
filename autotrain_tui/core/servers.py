"""HTTP servers over runs (`python -m recipe.serve`), started, listed and stopped like runs.

A server is a process the manager knows, with no daemon: it is started in a new session
(its own process group), and recorded in its run's directory as
`runs/<run-id>/servers/<pid>.json` (url, host, port, pid, pgid, start ticks, boot id,
checkpoint, options, log file, start time; see docs/run-directory.md), its output in
`servers/<pid>.log`. Anyone can list the servers from the files alone; a record whose
process is gone is removed by the next listing. Stop is SIGTERM to the group (the server
answers what is in flight and exits), SIGKILL to the group after the grace period, and
then a check that nothing of the group survives. Torch-free: the manager only starts the
process and talks HTTP to `/health` for the request counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autotrain_tui.core import identity, launcher, trust
from autotrain_tui.core.atomic import write_json_atomic
from autotrain_tui.core.errors import ManagerError

if TYPE_CHECKING:
    from autotrain_tui.core.project import Project

SERVERS_DIR = "servers"
SERVER_VERSION = 1
START_TIMEOUT_S = 180.0
HEALTH_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class ServerOptions:
    checkpoint: str = "auto"
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port, chosen by the server
    max_batch: int = 32
    max_wait_ms: float = 5.0
    queue_size: int = 256


@dataclass(frozen=True)
class ServerRecord:
    run: str
    pid: int
    pgid: int
    start_ticks: int | None
    boot_id: str | None
    url: str
    host: str
    port: int
    checkpoint: str
    options: dict[str, Any]
    log: str
    started_at: float
    version: int = SERVER_VERSION

    @property
    def id(self) -> str:
        return str(self.pid)

    def alive(self) -> bool:
        return identity.is_alive(self.pid, self.start_ticks, self.boot_id)


def servers_dir(run_dir: Path) -> Path:
    return run_dir / SERVERS_DIR


def _read(path: Path) -> ServerRecord | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fields = {k: data[k] for k in ServerRecord.__dataclass_fields__ if k in data}
        return ServerRecord(**fields)
    except (OSError, ValueError, TypeError):
        return None


def _forget(run_dir: Path, pid: int) -> None:
    for name in (f"{pid}.json", f"{pid}.log"):
        with contextlib.suppress(FileNotFoundError):
            (servers_dir(run_dir) / name).unlink()


def list_servers(runs_dir: Path) -> list[ServerRecord]:
    """Every live server over a run of `runs_dir`; records of dead ones are removed."""
    found: list[ServerRecord] = []
    for path in sorted(runs_dir.glob(f"*/{SERVERS_DIR}/*.json")):
        record = _read(path)
        if record is not None and record.alive():
            found.append(record)
        elif record is not None or path.stem.isdigit():
            _forget(path.parent.parent, record.pid if record else int(path.stem))
    return sorted(found, key=lambda r: r.started_at)


def health(record: ServerRecord) -> dict[str, Any] | None:
    """The server's /health answer (ready, requests served), or None when it does not
    answer within HEALTH_TIMEOUT_S."""
    try:
        with urllib.request.urlopen(record.url + "/health", timeout=HEALTH_TIMEOUT_S) as reply:
            answer: dict[str, Any] = json.loads(reply.read())
            return answer
    except (OSError, ValueError):
        return None


def serve_run(project: Project, ref: str, options: ServerOptions) -> ServerRecord:
    """Start a server over the run `ref`: it imports the run's custom.py copy, so the
    project (and a custom file outside it) must be trusted, as for resume."""
    record = project.get_run(ref)
    try:
        text = record.config_yaml.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    shown = launcher.display_path(record.run_dir, project.root)
    trust.require_trusted(project.root, f"serving {shown}")
    trust.require_custom_trusted(project.root, shown, text)
    return start_server(
        project.python, project.recipe_module, project.root, record.run_dir, options
    )


def start_server(
    python: str, recipe_module: str, root: Path, run_dir: Path, options: ServerOptions
) -> ServerRecord:
    """Start a server over `run_dir` in its own session; return once it listens.

    Trust is the caller's to require (serving imports the run's custom.py copy).
    """
    folder = servers_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    nonce = uuid.uuid4().hex[:12]
    address = folder / f".address-{nonce}.json"
    log_path = folder / f".starting-{nonce}.log"
    command = [
        python,
        "-m",
        f"{recipe_module}.serve",
        str(run_dir),
        *("--host", options.host, "--port", str(options.port)),
        *("--max-batch", str(options.max_batch), "--max-wait-ms", str(options.max_wait_ms)),
        *("--queue-size", str(options.queue_size), "--address-file", str(address)),
    ]
    if options.checkpoint != "auto":
        command += ["--checkpoint", options.checkpoint]
    try:
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command,
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as error:
        log_path.unlink(missing_ok=True)
        raise ManagerError(f"cannot start `{recipe_module}.serve`: {error}") from error
    ticks = identity.start_ticks(process.pid)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not address.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            _end(process)
            lines = log_path.read_text(errors="replace").strip().splitlines()
            log_path.unlink(missing_ok=True)
            last = lines[-1] if lines else f"exit status {process.returncode}"
            raise ManagerError(f"the server over {run_dir.name} did not start: {last}")
        time.sleep(0.05)
    listening = json.loads(address.read_text())
    address.unlink()
    final_log = folder / f"{process.pid}.log"
    os.replace(log_path, final_log)
    record = ServerRecord(
        run=run_dir.name,
        pid=process.pid,
        pgid=process.pid,
        start_ticks=ticks,
        boot_id=identity.boot_id(),
        url=listening["url"],
        host=listening["host"],
        port=int(listening["port"]),
        checkpoint=options.checkpoint,
        options=asdict(options),
        log=str(final_log.relative_to(run_dir)),
        started_at=time.time(),
    )
    write_json_atomic(folder / f"{process.pid}.json", asdict(record))
    return record


def _end(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop_server(runs_dir: Path, ref: str, grace_s: float = 10.0) -> ServerRecord:
    """SIGTERM the server's group, SIGKILL it after `grace_s`; nothing of it survives."""
    from autotrain_tui.core.groups import group_members

    matches = [r for r in list_servers(runs_dir) if r.id == ref or r.url == ref]
    if not matches:
        raise ManagerError(f"no server {ref!r} is running (see `autotrain-tui servers`)")
    record = matches[0]
    if identity.group_is_ours(record.pgid, record.start_ticks, record.boot_id):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while group_members(record.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(100):
            if not group_members(record.pgid):
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(record.pgid, signal.SIGKILL)
            time.sleep(0.05)
        survivors = group_members(record.pgid)
        if survivors:
            pids = ", ".join(str(p.pid) for p in survivors)
            raise ManagerError(f"server {record.id}: processes {pids} survived SIGKILL")
    _forget(runs_dir / record.run, record.pid)
    return record


def serving_lines(runs_dir: Path) -> dict[str, list[str]]:
    """One line per live server, by run directory name, for the UI: the URL, whether it is
    ready, and the requests it has served (its /health; loopback, bounded by a timeout)."""
    lines: dict[str, list[str]] = {}
    for record in list_servers(runs_dir):
        answer = health(record)
        if answer is None:
            state = "not answering"
        else:
            served = answer.get("requests_served")
            ready = "ready" if answer.get("ready", True) else "loading"
            state = f"{ready} · {served} requests" if served is not None else ready
        lines.setdefault(record.run, []).append(
            f"serving {record.url} · {state} · stop: autotrain-tui servers stop {record.id}"
        )
    return lines
