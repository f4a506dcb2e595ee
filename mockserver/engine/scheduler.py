"""Deferred work (webhook retries, jobs that complete later) on the app's clock.

In ``real`` mode a timer fires after its delay on the event loop. In ``manual`` mode nothing fires
by itself: ``await scheduler.advance(seconds)`` moves the clock and runs what became due, in
order, so tests drive retries and backoffs without sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .clock import Clock

log = logging.getLogger("epilot_mock.scheduler")
Job = Callable[[], Awaitable[None]]


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    job: Job = field(compare=False)
    handle: asyncio.TimerHandle | None = field(default=None, compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    def __init__(self, clock: Clock, *, manual: bool = False) -> None:
        self.clock = clock
        self.manual = manual
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()

    def call_later(self, delay: float, job: Job) -> None:
        """Run ``job()`` ``delay`` seconds from now (on this scheduler's clock)."""
        timer = _Timer(self.clock.time() + max(0.0, delay), next(self._seq), job)
        if self.manual:
            heapq.heappush(self._timers, timer)
            return
        loop = asyncio.get_running_loop()
        timer.handle = loop.call_later(max(0.0, delay), self._start, timer)
        heapq.heappush(self._timers, timer)

    def spawn(self, job: Job) -> None:
        """Run ``job()`` now, in the background; ``drain()`` waits for it."""
        task = asyncio.get_running_loop().create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        """Timers not yet fired plus jobs still running."""
        return sum(1 for t in self._timers if not t.cancelled) + len(self._tasks)

    async def advance(self, seconds: float = 0.0) -> int:
        """Manual mode: move the clock by ``seconds`` and run every timer due by then, in due order
        (including timers those jobs schedule within the window). Returns how many ran."""
        end = self.clock.time() + seconds
        ran = 0
        while self._timers and self._timers[0].due <= end:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            if timer.due > self.clock.time():
                self.clock.advance(timer.due - self.clock.time())
            await self._run(timer.job)
            ran += 1
        if end > self.clock.time():
            self.clock.advance(end - self.clock.time())
        await self.drain()
        return ran

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the background jobs that are running now."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def cancel_all(self) -> None:
        for timer in self._timers:
            timer.cancelled = True
            if timer.handle is not None:
                timer.handle.cancel()
        self._timers.clear()

    def _start(self, timer: _Timer) -> None:
        if timer.cancelled:
            return
        timer.cancelled = True  # fired: no longer pending
        self._timers = [t for t in self._timers if not t.cancelled]
        heapq.heapify(self._timers)
        self.spawn(timer.job)

    async def _run(self, job: Job) -> None:
        try:
            await job()
        except Exception:
            log.exception("scheduled job failed")
