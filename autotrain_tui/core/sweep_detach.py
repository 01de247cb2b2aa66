"""`python -m autotrain_tui.core.sweep_detach RUNS_DIR SWEEP_ID [...]`: start a sweep driver.

Forks first thing, so the manager that started it (in a new session) reaps this parent at
once, before optuna's import, and no zombie is left in a long-lived UI; the child runs
`core.sweep_driver` alone. A module of its own: the package's `__init__` imports
`search_sweep`, which `python -m` must not run a second time.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if os.fork() > 0:
        os._exit(0)
    from autotrain_tui.core import sweep_driver

    return sweep_driver.main([*argv, "--foreground"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
