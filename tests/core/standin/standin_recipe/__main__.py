"""Command line of the stand-in recipe (see the package docstring)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from ruamel.yaml import YAML


def _overrides(config_text: str) -> dict[str, str]:
    data = YAML(typ="safe").load(config_text) or {}
    return {str(k): str(v) for k, v in (data.get("standin_overrides") or {}).items()}


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        if "--grid" in argv:  # a sweep: every point's overrides, checked together
            grid = json.loads(argv[argv.index("--grid") + 1])
            argv = argv[: argv.index("--grid")] + [o for point in grid for o in point]
        for index, item in enumerate(argv[2:]):
            if item == "standin.invalid=1":
                print(f"<command line>:{index + 1}:1: standin.invalid is set", file=sys.stderr)
                print("1 problem(s) found; nothing was trained.", file=sys.stderr)
                return 2
        return 0
    if argv[:2] == ["train", "--resume"]:
        run_dir = Path(argv[2])
    elif argv[:1] == ["train"] and "--run-dir" in argv:
        run_dir = Path(argv[argv.index("--run-dir") + 1])
    else:
        print("usage: standin_recipe train CONFIG --run-dir DIR", file=sys.stderr)
        return 2
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    options = _overrides((run_dir / "config.yaml").read_text())
    (run_dir / "env.json.tmp").write_text(
        json.dumps(
            {
                "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
                "resumed": argv[1] == "--resume",
                "argv": argv,
            }
        )
    )
    os.replace(run_dir / "env.json.tmp", run_dir / "env.json")
    print(f"standin: training in {run_dir}", flush=True)
    deadline = time.monotonic() + float(options.get("standin.seconds", 3600))
    while not stopping and time.monotonic() < deadline:
        time.sleep(0.02)
    if stopping:
        (run_dir / "checkpoints").mkdir(exist_ok=True)
        (run_dir / "checkpoints" / "last.ckpt").write_text("standin")
        print("standin: stopped", flush=True)
        return 3
    return int(options.get("standin.exit_code", 0))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
