"""A real `python -m recipe.serve` in a subprocess and plain HTTP to it (urllib, threads).

The server gets its own session (process group), port 0 (it binds a free loopback port and
writes it to an address file), and is always stopped and checked for survivors.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.helpers import recipe_env, wait_for

SERVE = [sys.executable, "-m", "recipe.serve"]


class Server:
    def __init__(self, run_dir: str, cwd: Path, *options: str, env: dict[str, str] | None = None):
        self.address = cwd / f"address-{uuid.uuid4().hex}.json"
        self.process = subprocess.Popen(
            [*SERVE, run_dir, "--port", "0", "--address-file", str(self.address), *options],
            cwd=cwd,
            env=env or recipe_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.pgid = self.process.pid
        wait_for(
            lambda: self.address.exists() or self.process.poll() is not None,
            timeout=120,
            what="the server to listen",
        )
        assert self.process.poll() is None, self.output()
        self.url = json.loads(self.address.read_text())["url"]

    def output(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stdout.read() if self.process.stdout else ""

    def wait_ready(self) -> None:
        wait_for(lambda: self.get("/ready")[0] == 200, timeout=120, what="/ready")

    def get(self, path: str) -> tuple[int, Any]:
        return request("GET", self.url + path)

    def post_json(self, body: Any) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return request("POST", self.url + "/predict", data, "application/json")

    def post_files(self, files: Sequence[tuple[str, str, bytes]]) -> tuple[int, Any]:
        """Multipart: (field, file name, content) per part."""
        boundary = uuid.uuid4().hex
        parts = []
        for field, name, content in files:
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            )
            parts.append(head.encode() + content + b"\r\n")
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return request(
            "POST", self.url + "/predict", data, f"multipart/form-data; boundary={boundary}"
        )

    def stop(self) -> int:
        """SIGTERM, wait for the exit, and check that nothing of the group survives."""
        if self.process.poll() is None:
            os.killpg(self.pgid, signal.SIGTERM)
        code = self.process.wait(timeout=60)
        assert not group_alive(self.pgid), "a process of the server's group survived"
        return code


def group_alive(pgid: int) -> bool:
    """Whether a live process of the group is left (a zombie awaiting its reaper is not)."""
    from autotrain_tui.core.groups import group_members

    return bool(group_members(pgid))


def request(
    method: str, url: str, data: bytes | None = None, content_type: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
