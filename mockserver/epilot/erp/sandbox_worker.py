"""The process side of the JSONata sandbox (see ``sandbox.py``): ``python -m`` this module.

The worker reads jobs from stdin and writes replies to stdout, each one frame: a 4-byte big-endian
length and a pickle. The first frame it writes is ``("ready", info)``, once it has imported the
engine, warmed it up and capped its own address space (``RLIMIT_AS``) at what it uses then plus the
memory limit. A job is ``(function, args)``, a module-level function that pickle finds by name; the
reply is ``("ok", result)``, ``("error", exception)``, ``("memory", None)`` (a MemoryError) or
``("too_large", size)`` (a result beyond the reply limit), plus ``recycle`` (True when the worker
grew past half its memory allowance and exits after this reply, to be replaced).

An allocation beyond the cap kills the worker (jsonatapy aborts the process; jsonata-python raises
MemoryError, answered as such), and the parent reports the memory limit. The parent enforces
the time limit by killing the worker.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from collections import OrderedDict
from typing import Any

HEADER = struct.Struct(">I")
# jsonatapy's allocator (mimalloc) reserves 1 GiB of address space up front unless told otherwise;
# with a smaller reservation the address-space cap measures what an evaluation really allocates.
ALLOCATOR_ENV = {"MIMALLOC_ARENA_RESERVE": "64MiB"}
MEMORY_DEATH_EXIT = 75  # the worker ran out of its memory allowance in Python code
_CACHE_SIZE = 256
_expressions: OrderedDict[str, Any] = OrderedDict()
_mappings: OrderedDict[bytes, Any] = OrderedDict()


def _cached(cache: OrderedDict[Any, Any], key: Any, build: Any) -> Any:
    value = cache.get(key)
    if value is None:
        value = build()
        cache[key] = value
        if len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return value


# -- jobs (module-level so that the parent can name them) ------------------------------------------

def evaluate(source: str, data: Any, bindings: dict[str, Any] | None = None) -> Any:
    """One JSONata expression on ``data``: the result, or :data:`UNDEFINED`. Raises JsonataError."""
    from .jsonata import compile_expression

    return _cached(_expressions, source, lambda: compile_expression(source)).evaluate(data, bindings)


def map_event(config: dict[str, Any], payload: Any, format: str) -> Any:
    """An inbound mapping applied to one payload (a MappingResult). Raises MappingError/PayloadError."""
    from .mapping import compile_mapping

    key = _config_key(config)
    if key is None:
        return compile_mapping(config).apply(payload, format=format)
    return _cached(_mappings, key, lambda: compile_mapping(config)).apply(payload, format=format)


def _config_key(config: Any) -> bytes | None:
    import orjson

    try:
        return orjson.dumps(config, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers beyond 64 bits: rare enough to compile afresh
        return None


def echo(value: Any) -> Any:
    """The value itself (tests and the benchmark measure the round trip with it)."""
    return value


# -- the loop --------------------------------------------------------------------------------------

def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _cap_memory(limit_bytes: int) -> dict[str, int]:
    """Cap the address space at its current size plus ``limit_bytes``; what was measured."""
    try:
        import resource

        size = _status_kb("VmSize") * 1024
        rss = _status_kb("VmRSS") * 1024
    except (ImportError, OSError):  # not Linux: the time limit still holds
        return {"address_space": 0, "rss": 0}
    if size and limit_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (size + limit_bytes, size + limit_bytes))
    return {"address_space": size, "rss": rss}


def _warm_up() -> None:
    from . import jsonata, mapping  # noqa: F401  (imported before the cap)

    if jsonata.selected_engine() == jsonata.JSONATAPY:
        jsonata.run_on_this_thread()
    evaluate("$string(a) & $formatNumber(1, '#0')", {"a": 1})
    _expressions.clear()


def _write(out: Any, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(HEADER.pack(len(data)) + data)
    out.flush()


def _read(inp: Any) -> Any:
    head = inp.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    return pickle.loads(inp.read(size))


def _reply_for(job: Any, max_result: int) -> tuple[Any, ...]:
    fn, args = job
    try:
        result: tuple[Any, ...] = ("ok", fn(*args))
    except MemoryError:
        return ("memory", None)
    except Exception as exc:
        result = ("error", exc)
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an exception or result that does not pickle
        return ("error", RuntimeError(f"sandbox: unpicklable {result[0]}: {exc}"))
    if len(data) > max_result:
        return ("too_large", len(data))
    return result


def main(argv: list[str]) -> int:
    limit_bytes = int(argv[1]) if len(argv) > 1 else 0
    max_result = int(argv[2]) if len(argv) > 2 else 64 * 1024 * 1024
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints must not corrupt the frames on stdout
    inp = os.fdopen(0, "rb")
    _warm_up()
    measured = _cap_memory(limit_bytes)
    _write(out, ("ready", {"pid": os.getpid(), **measured}))
    try:
        while (job := _read(inp)) is not None:
            reply = _reply_for(job, max_result)
            rss = _status_kb("VmRSS") * 1024 if measured["rss"] else 0
            recycle = reply[0] == "memory" or bool(limit_bytes and rss and rss - measured["rss"] > limit_bytes // 2)
            _write(out, (*reply, recycle))
            if recycle:
                return 0
    except MemoryError:  # outside a job (reading or writing a frame)
        return MEMORY_DEATH_EXIT
    return 0


if __name__ == "__main__":
    os.environ.update(ALLOCATOR_ENV)
    # Run the package's copy of this module, the one that jobs name when they are unpickled.
    from mockserver.epilot.erp import sandbox_worker

    sys.exit(sandbox_worker.main(sys.argv))
