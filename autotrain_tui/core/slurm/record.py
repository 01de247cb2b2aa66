"""What `run.json` holds about a SLURM run's job: the `slurm` object of contract version 3.

The job ids say which job to poll and signal; the state, reason, node and time left are the
last poll's view, kept for the UI (and for the `lost` reason when the job vanishes). They
are informative only: a run's outcome always comes from its directory (docs/slurm.md).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SlurmInfo:
    """The `slurm` object of a SLURM run's `run.json`."""

    job_id: str | None = None  # the current job ("123", or "123_4" for an array task)
    jobs: tuple[str, ...] = ()  # every job this run has had, oldest first (a resume adds one)
    cluster: str | None = None  # ClusterName: job ids are per cluster
    state: str | None = None  # squeue %T of the last poll (PENDING, RUNNING, COMPLETED, …)
    reason: str | None = None  # squeue %r: why it pends (Resources, Priority, …), else None
    node: str | None = None  # squeue %N: the node list it runs on
    time_left: str | None = None  # squeue %L: D-HH:MM:SS left of its time limit
    polled_at: float | None = None  # wall time of that poll
    restarts: int = 0  # requeues seen (SLURM_RESTART_COUNT of the attempt that logged last)

    def replace(self, **changes: Any) -> SlurmInfo:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["jobs"] = list(self.jobs)
        return out

    @classmethod
    def from_json(cls, data: Any) -> SlurmInfo | None:
        """The object parsed from `run.json`; None for null. Raises ValueError naming a bad
        field, as `runs.read_run` does for its own fields."""
        if data is None:
            return None
        if not isinstance(data, dict):
            raise ValueError(f"'slurm' should be an object, not {json.dumps(data)[:40]}")
        kwargs: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            if spec.name not in data or data[spec.name] is None:
                continue
            value = data[spec.name]
            if spec.name == "jobs":
                if not isinstance(value, list) or not all(isinstance(j, str) for j in value):
                    raise ValueError(f"'slurm.jobs' should list job ids, not {value!r:.40}")
                value = tuple(value)
            elif spec.name == "restarts":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"'slurm.restarts' should be a whole number, not {value!r}")
            elif spec.name == "polled_at":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"'slurm.polled_at' should be a number, not {value!r}")
            elif not isinstance(value, str):
                raise ValueError(f"'slurm.{spec.name}' should be a string, not {value!r:.40}")
            kwargs[spec.name] = value
        return cls(**kwargs)

    @property
    def shown_state(self) -> str:
        """`PENDING (Resources)`, `RUNNING`, …: the state with its reason when it has one."""
        state = self.state or "SUBMITTED"
        if self.reason and self.reason not in ("None", "(null)"):
            return f"{state} ({self.reason})"
        return state
