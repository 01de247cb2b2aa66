"""Dynamic micro-batching: concurrent requests gathered into one forward pass.

Requests wait in a bounded asyncio queue; one worker takes the first, keeps gathering
until `max_batch` samples are in hand or `max_wait_ms` has passed since the first arrived,
(or at once when no other request is on its way: `expecting()`, the requests being
read, is 0), and runs the whole batch as one forward pass (plus postprocessing) in a single worker
thread, so the event loop keeps accepting requests meanwhile and the model is never called
from two threads at once. A full queue is refused at once (`QueueFull`, answered 503):
under overload a client learns it now instead of the server's memory growing without
bound. `max_batch=1` is one forward pass per request (batching off, for comparison).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor


class QueueFull(Exception):
    """The bounded queue holds `queue_size` requests already."""


@dataclass
class _Job:
    batch: Tensor
    future: asyncio.Future[list[Any]]
    enqueued: float = field(default_factory=time.monotonic)


class MicroBatcher:
    """Runs `infer(batch) -> one result per row` on batches gathered from `submit` calls."""

    def __init__(
        self,
        infer: Callable[[Tensor], list[Any]],
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        queue_size: int = 256,
        expecting: Callable[[], int] = lambda: 1,
    ) -> None:
        self.infer = infer
        self.expecting = expecting
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=max(1, queue_size))
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward")
        self.forward_passes = 0
        self.samples = 0
        self._worker: asyncio.Task[None] | None = None
        self._carry: _Job | None = None

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """After the last request was answered: end the worker and its thread."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self.executor.shutdown(wait=True)

    async def submit(self, batch: Tensor) -> list[Any]:
        """Results for the rows of `batch`, once its forward pass has run."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait(_Job(batch, future))
        except asyncio.QueueFull:
            raise QueueFull from None
        return await future

    async def _gather(self) -> list[_Job]:
        first = self._carry or await self.queue.get()
        self._carry = None
        jobs, rows = [first], len(first.batch)
        deadline = first.enqueued + self.max_wait
        while rows < self.max_batch:
            if self.queue.empty() and not self.expecting():
                break  # nobody else is on the way: waiting would only add latency
            remaining = deadline - time.monotonic()
            try:
                job = (
                    self.queue.get_nowait()
                    if remaining <= 0
                    else await asyncio.wait_for(self.queue.get(), remaining)
                )
            except (asyncio.QueueEmpty, TimeoutError):
                break
            if rows + len(job.batch) > self.max_batch:
                self._carry = job  # first of the next batch: no request is split
                break
            jobs.append(job)
            rows += len(job.batch)
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._gather()
            if isinstance(jobs[0].batch, list):  # detection: images of any size, a list
                batch: Any = [image for job in jobs for image in job.batch]
            else:
                batch = torch.cat([job.batch for job in jobs])
            try:
                results = await loop.run_in_executor(self.executor, self.infer, batch)
            except Exception as exc:  # handed to each waiting request, never lost
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self.forward_passes += 1
            self.samples += len(batch)
            start = 0
            for job in jobs:
                end = start + len(job.batch)
                if not job.future.done():
                    job.future.set_result(results[start:end])
                start = end
