"""The JSONata sandbox: every evaluation runs in a pool of worker processes, off the event loop,
with a time limit and a memory limit.

JSONata is Turing-complete: ``( $f := function($x){ $f($x) }; $f(1) )`` never ends, and
``$count([1..10000].([1..10000]))`` allocates gigabytes. So the server never evaluates an expression
itself. A `JsonataSandbox` keeps up to ``workers`` processes (``sandbox_worker.py``), each with its
address space capped at what it needs plus ``memory_mb``. A job that is not answered within
``timeout`` seconds gets its worker killed (SIGKILL) and replaced; a job whose worker dies, or runs
out of memory, is reported against the memory limit. Either way that evaluation alone fails, with
a `JsonataLimitError` naming the limit; everything else in the server keeps running, because the
wait happens on a sandbox thread and callers on the event loop ``await`` it.

Workers start on first use and compile each expression (and each inbound mapping) once, in an LRU
cache of their own. Waiting for a free worker does not count against the time limit.

API (callers in the ERP behaviours and the outbound dispatcher; the ERP helpers reuse it):

- ``await sandbox.evaluate(source, data, bindings=None)``: one expression; its result or
  :data:`UNDEFINED`. Raises `JsonataError` (a `JsonataLimitError` for an overrun).
- ``await sandbox.map_event(config, payload, format="json")``: an inbound mapping on one payload,
  a `MappingResult`. Raises `MappingError` (an overrun is one, naming the limit) or `PayloadError`.
- ``await sandbox.run(fn, *args)``: any module-level function (pickled by name) on picklable
  arguments, under the same limits; ``run_sync``/``evaluate_sync``/``map_event_sync`` block the
  calling thread instead (for code that has no event loop).
- ``sandbox.close()`` stops the workers (the app's shutdown hook does it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from . import sandbox_worker
from .jsonata import JsonataError
from .mapping import MappingError, MappingResult

log = logging.getLogger("epilot_mock.erp.sandbox")
DEFAULT_TIMEOUT: Final = 1.0
DEFAULT_MEMORY_MB: Final = 256
DEFAULT_WORKERS: Final = 2
MAX_RESULT_BYTES: Final = 64 * 1024 * 1024
START_TIMEOUT: Final = 30.0
_PACKAGE_ROOT: Final = str(Path(__file__).resolve().parents[3])


class JsonataLimitError(JsonataError):
    """An evaluation stopped by a sandbox limit: ``limit`` is ``time``, ``memory`` or ``result``."""

    def __init__(self, expression: str, message: str, limit: str = "time") -> None:
        super().__init__(expression, message)
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.expression, self.message, self.limit))


class SandboxError(RuntimeError):
    """The sandbox itself failed (a worker that does not start)."""


class _Worker:
    """One worker process and its two pipes."""

    def __init__(self, memory_bytes: int, max_result: int) -> None:
        env = {**os.environ, **sandbox_worker.ALLOCATOR_ENV}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", sandbox_worker.__name__, str(memory_bytes), str(max_result)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, bufsize=0,
            close_fds=True, start_new_session=True)  # a terminal's Ctrl-C is the server's to handle
        self.ready = False
        self.info: dict[str, Any] = {}

    def wait_ready(self) -> None:
        if self.ready:
            return
        try:
            reply = self.receive(time.monotonic() + START_TIMEOUT)
        except EOFError:
            reply = None
        if not reply or reply[0] != "ready":
            self.kill()
            raise SandboxError(f"a JSONata sandbox worker did not start (exit status {self.proc.poll()})")
        self.ready = True
        self.info = reply[1]

    def send(self, frame: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(frame)

    def receive(self, deadline: float) -> Any:
        """The next reply; None when ``deadline`` passes first. Raises EOFError if the worker died."""
        head = self._read(sandbox_worker.HEADER.size, deadline)
        if head is None:
            return None
        (size,) = sandbox_worker.HEADER.unpack(head)
        body = self._read(size, deadline)
        return None if body is None else pickle.loads(body)

    def _read(self, size: int, deadline: float) -> bytes | None:
        stdout = self.proc.stdout
        assert stdout is not None
        fd = stdout.fileno()
        buf = bytearray()
        while len(buf) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(fd, min(size - len(buf), 1 << 20))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.reap()

    def reap(self) -> int | None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a worker that ignores SIGKILL
            return None


def _kill_all(workers: list[_Worker]) -> None:
    for worker in list(workers):
        worker.kill()
    workers.clear()


class JsonataSandbox:
    """A pool of sandboxed JSONata worker processes (see the module docstring)."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB,
                 workers: int = DEFAULT_WORKERS, max_result_bytes: int = MAX_RESULT_BYTES) -> None:
        if timeout <= 0 or memory_mb <= 0 or workers <= 0:
            raise ValueError("the JSONata time limit, memory limit and worker count must be positive")
        self.timeout = float(timeout)
        self.memory_mb = int(memory_mb)
        self.workers = int(workers)
        self.max_result_bytes = int(max_result_bytes)
        self.stats = {"started": 0, "killed_time": 0, "stopped_memory": 0, "jobs": 0}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.workers)
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False
        self._finalizer = weakref.finalize(self, _kill_all, self._all)

    # -- the API -----------------------------------------------------------------------------

    async def run(self, fn: Callable[..., Any], *args: Any, source: str = "") -> Any:
        """``fn(*args)`` in a worker, awaited without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), functools.partial(self.run_sync, fn, *args, source=source))

    def run_sync(self, fn: Callable[..., Any], *args: Any, source: str = "") -> Any:
        """``fn(*args)`` in a worker, blocking the calling thread until it answers or is stopped.
        ``source`` names the expression in limit errors."""
        frame = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        frame = sandbox_worker.HEADER.pack(len(frame)) + frame
        with self._slots:
            worker = self._take()
            try:
                return self._call(worker, frame, source)
            finally:
                self._give_back(worker)

    async def evaluate(self, source: str, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        _check_source(source)
        return await self.run(sandbox_worker.evaluate, source, data, bindings, source=source)

    def evaluate_sync(self, source: str, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        _check_source(source)
        return self.run_sync(sandbox_worker.evaluate, source, data, bindings, source=source)

    async def map_event(self, config: dict[str, Any], payload: Any, format: str = "json") -> MappingResult:
        try:
            result = await self.run(sandbox_worker.map_event, config, payload, format)
        except JsonataLimitError as exc:
            raise MappingError("mapping", None, None, exc.message) from None
        return result  # type: ignore[no-any-return]

    def map_event_sync(self, config: dict[str, Any], payload: Any, format: str = "json") -> MappingResult:
        try:
            result = self.run_sync(sandbox_worker.map_event, config, payload, format)
        except JsonataLimitError as exc:
            raise MappingError("mapping", None, None, exc.message) from None
        return result  # type: ignore[no-any-return]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._idle.clear()
        _kill_all(self._all)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def aclose(self) -> None:
        self.close()

    def describe_limits(self) -> str:
        return f"time limit {_seconds(self.timeout)}, memory limit {self.memory_mb} MB"

    # -- workers -----------------------------------------------------------------------------

    def _pool(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(self.workers,
                                                                       thread_name_prefix="jsonata-sandbox")
            return self._executor

    def _spawn(self) -> _Worker:
        worker = _Worker(self.memory_mb * 1024 * 1024, self.max_result_bytes)
        self._all.append(worker)
        self.stats["started"] += 1
        return worker

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise SandboxError("the JSONata sandbox is closed")
            worker = self._idle.pop() if self._idle else self._spawn()
        worker.wait_ready()
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.proc.returncode is None and not self._closed:
                self._idle.append(worker)
                return
            if worker in self._all:
                self._all.remove(worker)
            if not self._closed and len(self._all) < self.workers:
                self._idle.append(self._spawn())  # start the replacement now, while nobody waits

    def _call(self, worker: _Worker, frame: bytes, source: str) -> Any:
        self.stats["jobs"] += 1
        try:
            worker.send(frame)
            reply = worker.receive(time.monotonic() + self.timeout)
        except (EOFError, BrokenPipeError):
            reply = ("died", worker.reap())
        if reply is None:
            worker.kill()
            self.stats["killed_time"] += 1
            log.warning("JSONata evaluation stopped at the time limit (%s)", _seconds(self.timeout))
            raise JsonataLimitError(source, f"JSONata evaluation exceeded the time limit of "
                                            f"{_seconds(self.timeout)} (the evaluation was stopped)", "time")
        kind, value, *rest = reply
        if rest and rest[0]:  # the worker exits after this reply (it grew too much)
            worker.reap()
        if kind == "ok":
            return value
        if kind == "error":
            raise value
        if kind == "too_large":
            raise JsonataLimitError(source, f"the JSONata result exceeds the sandbox's reply limit of "
                                            f"{self.max_result_bytes // (1024 * 1024)} MB", "result")
        self.stats["stopped_memory"] += 1
        if kind == "died":
            status = value
            cause = f" (signal {signal.Signals(-status).name})" if isinstance(status, int) and status < 0 else ""
            log.warning("JSONata sandbox worker stopped at the memory limit%s", cause)
        raise JsonataLimitError(source, f"JSONata evaluation exceeded the memory limit of {self.memory_mb} MB "
                                        "(the evaluation was stopped)", "memory")


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _check_source(source: Any) -> None:
    if not isinstance(source, str):
        raise JsonataError(repr(source), "a JSONata expression must be a string")
