"""A small interface over a real JSONata engine, with JavaScript number semantics.

Two engines are supported: jsonatapy (Rust, fast; x86_64 Linux wheels only) and jsonata-python
(pure Python, portable). jsonatapy is used when it can be imported. The environment variable
``EPILOT_MOCK_JSONATA`` selects one explicitly: ``jsonatapy`` (alias ``rust``) or ``jsonata-python``
(alias ``python``).

Both engines are wrapped so that they agree with the JavaScript reference implementation:

- ``evaluate`` returns :data:`UNDEFINED` for a JSONata undefined result, distinct from JSON null.
- Numbers are normalised: a whole float below 1e21 becomes an int (JavaScript prints it whole), an
  int of 1e21 or more becomes a float (JavaScript prints it as ``1e+21``), and a non-finite number
  in the result is an error (as JavaScript's D1001), where jsonatapy would give null.
- jsonata-python rounds ``$formatNumber`` half-up on the binary value of the number (0.125 gives
  "0.13", 2.675 gives "2.67"). JavaScript rounds half-to-even on the number's decimal text ("0.12",
  "2.68"); a corrected ``$formatNumber`` is registered on every jsonata-python expression.
- jsonatapy compiled expressions may only be used on the thread that created them, so every
  jsonatapy call runs on one dedicated thread that owns them (see ``_EngineThread``). jsonata-python
  binds the input into the expression's environment unless a bindings dict is given, so every
  evaluation gets a fresh one.
"""

from __future__ import annotations

import abc
import atexit
import concurrent.futures
import decimal
import importlib.util
import json
import math
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

import orjson

JSONATAPY: Final = "jsonatapy"
JSONATA_PYTHON: Final = "jsonata-python"
ENGINES: Final = (JSONATAPY, JSONATA_PYTHON)
ENGINE_ENV: Final = "EPILOT_MOCK_JSONATA"
_ALIASES: Final = {"rust": JSONATAPY, "python": JSONATA_PYTHON, JSONATAPY: JSONATAPY, JSONATA_PYTHON: JSONATA_PYTHON}
_MODULES: Final = {JSONATAPY: "jsonatapy", JSONATA_PYTHON: "jsonata"}
_FLOAT_AS_INT_LIMIT: Final = 1e21


class _Undefined:
    """JSONata's undefined: no value at all (a missing path, or the literal ``undefined``)."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __reduce__(self) -> str:
        # copy and pickle hand back the module's singleton
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()


class JsonataError(Exception):
    """A JSONata expression that does not compile, or fails when evaluated."""

    def __init__(self, expression: str, message: str) -> None:
        self.expression = expression
        self.message = " ".join(str(message).split()) or "JSONata error"
        super().__init__(f"{self.message} (JSONata expression: {expression!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        # sandbox workers send errors back pickled; rebuild from the constructor's own arguments
        return (type(self), (self.expression, self.message))


def available_engines() -> tuple[str, ...]:
    """The engines that can be imported here, preferred first."""
    return tuple(name for name in ENGINES if importlib.util.find_spec(_MODULES[name]) is not None)


def selected_engine() -> str:
    """The engine to use: ``EPILOT_MOCK_JSONATA`` if set, else the first available one."""
    wanted = os.environ.get(ENGINE_ENV, "").strip().lower()
    available = available_engines()
    if wanted:
        if wanted not in _ALIASES:
            raise ValueError(f"{ENGINE_ENV}={wanted!r}: expected one of {', '.join(sorted(_ALIASES))}")
        engine = _ALIASES[wanted]
        if engine not in available:
            raise ValueError(f"{ENGINE_ENV}={wanted!r}: the {engine} package is not installed")
        return engine
    if not available:
        raise ValueError("no JSONata engine is installed (jsonatapy or jsonata-python)")
    return available[0]


def compile_expression(expr: str, *, engine: str | None = None) -> Expression:
    """Compile a JSONata expression. Raises JsonataError on a syntax error.

    ``engine`` is one of :data:`ENGINES` (or an alias); by default :func:`selected_engine` decides.
    An unknown or uninstalled engine raises ValueError.
    """
    if not isinstance(expr, str):
        raise JsonataError(repr(expr), "a JSONata expression must be a string")
    name = _ALIASES.get(engine.strip().lower()) if engine else selected_engine()
    if name is None or name not in available_engines():
        raise ValueError(f"JSONata engine {engine!r} is unknown or not installed; available: {available_engines()}")
    return _RustExpression(expr) if name == JSONATAPY else _PythonExpression(expr)


def is_truthy(value: Any) -> bool:
    """JSONata's boolean cast (``$boolean``), with :data:`UNDEFINED` false."""
    if value is UNDEFINED or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, list):
        return any(is_truthy(item) for item in value)
    if isinstance(value, dict):
        return bool(value)
    return True


class Expression(abc.ABC):
    """A compiled JSONata expression. Safe to share between threads."""

    engine: str = ""

    def __init__(self, source: str) -> None:
        self.source = source

    @abc.abstractmethod
    def evaluate(self, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        """The result for ``data`` (``$``) and variable ``bindings``, or :data:`UNDEFINED`.

        ``data`` may be :data:`UNDEFINED` (no input). Raises JsonataError when evaluation fails.
        """

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.engine} {self.source!r}>"


def _is_panic(exc: BaseException) -> bool:
    # pyo3's PanicException derives from BaseException and lives in the unimportable pyo3_runtime.
    return type(exc).__module__ == "pyo3_runtime" or type(exc).__name__ == "PanicException"


def _to_json_text(expr: str, data: Any) -> str:
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        pass  # orjson refuses integers beyond 64 bits; the standard library writes them
    try:
        return json.dumps(data, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise JsonataError(expr, f"the input is not JSON: {exc}") from None


class _EngineThread:
    """The one thread on which every jsonatapy object is created, used and freed.

    jsonatapy's compiled objects are bound to the thread that created them. A per-thread cache is
    not enough: when a short-lived thread (one per request under Starlette's TestClient) ends, its
    cache is torn down and a later compile on a new thread crashes the process. So all jsonatapy
    work is handed to a single long-lived daemon thread that owns the cache of compiled
    expressions; at exit it empties the cache itself.
    """

    CACHE_SIZE: Final = 512

    def __init__(self) -> None:
        self.cache: OrderedDict[str, Any] = OrderedDict()
        self._jobs: queue.SimpleQueue[tuple[Any, tuple[Any, ...], concurrent.futures.Future[Any]] | None] = (
            queue.SimpleQueue())
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def call(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the engine thread; its exception (a pyo3 panic included) is re-raised here."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._start()
        self._jobs.put((fn, args, future))
        return future.result()

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="jsonatapy", daemon=True)
                thread.start()
                self._thread = thread
                atexit.register(self._stop)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, future = job
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                future.set_exception(exc)
        self.cache.clear()

    def _stop(self) -> None:
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout=2)


_ENGINE = _EngineThread()


def run_on_this_thread() -> None:
    """Make the calling thread the jsonatapy engine thread: calls then run inline, with no hand-off.

    For a process that evaluates on one thread only (a sandbox worker). Call it before any other
    jsonatapy work in the process.
    """
    with _ENGINE._lock:
        if _ENGINE._thread is not None and _ENGINE._thread is not threading.current_thread():
            raise RuntimeError("the jsonatapy engine thread is already running")
        _ENGINE._thread = threading.current_thread()


def _rust_guard(source: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with jsonatapy's errors and panics turned into JsonataError."""
    try:
        return fn(*args)
    except MemoryError:
        raise  # a resource limit, not an error of the expression (the sandbox reports it)
    except Exception as exc:
        raise JsonataError(source, str(exc)) from None
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        raise JsonataError(source, f"engine panic: {exc}") from None


def _rust_compiled(source: str) -> Any:
    """The compiled expression from the engine thread's cache (runs on the engine thread)."""
    cache = _ENGINE.cache
    compiled = cache.get(source)
    if compiled is not None:
        cache.move_to_end(source)
        return compiled
    import jsonatapy

    compiled = _rust_guard(source, jsonatapy.compile, source)
    cache[source] = compiled
    if len(cache) > _EngineThread.CACHE_SIZE:
        cache.popitem(last=False)
    return compiled


def _rust_evaluate(source: str, data: Any, bindings: dict[str, Any] | None) -> tuple[Any, Any]:
    """The JSON text of the result (None for undefined) and, when it holds a null that may stand for a
    non-finite number, the Python result too (runs on the engine thread)."""
    compiled = _rust_compiled(source)
    text = None if data is UNDEFINED else _to_json_text(source, data)
    args = dict(bindings) if bindings else None
    result = _rust_guard(source, compiled.evaluate_json_or_none, text, args)
    if result is None or "null" not in result:
        return result, None
    return result, _rust_guard(source, compiled.evaluate, None if data is UNDEFINED else data, args)


class _RustExpression(Expression):
    engine = JSONATAPY

    def __init__(self, source: str) -> None:
        super().__init__(source)
        _ENGINE.call(_rust_compiled, source)  # a syntax error surfaces here

    def evaluate(self, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        result, python_result = _ENGINE.call(_rust_evaluate, self.source, data, bindings)
        if result is None:
            return UNDEFINED
        if python_result is not None and _has_non_finite(python_result):
            # JSON text writes an infinite number as null; JavaScript fails with D1001 instead.
            raise JsonataError(self.source, "D1001: Number out of range")
        return _normalise(self.source, orjson.loads(result))


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_has_non_finite(item) for item in value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    return False


class _PythonExpression(Expression):
    engine = JSONATA_PYTHON

    def __init__(self, source: str) -> None:
        super().__init__(source)
        from jsonata import Jsonata

        try:
            compiled = Jsonata(source)
        except Exception as exc:
            raise JsonataError(source, _python_message(exc)) from None
        compiled.set_output_convert_nulls(False)
        compiled.register_function(
            "formatNumber", Jsonata.function("formatNumber", "<n-so?:s>", _JsFormatNumber, "format_number")
        )
        self._compiled = compiled

    def evaluate(self, data: Any, bindings: dict[str, Any] | None = None) -> Any:
        # A fresh bindings dict makes the engine bind `$` in a new frame instead of the shared one.
        fresh = dict(bindings) if bindings else {}
        try:
            result = self._compiled.evaluate(None if data is UNDEFINED else data, fresh)
        except MemoryError:
            raise  # a resource limit, not an error of the expression (the sandbox reports it)
        except Exception as exc:
            raise JsonataError(self.source, _python_message(exc)) from None
        return _normalise_python(self.source, result)


def _python_message(exc: Exception) -> str:
    code = getattr(exc, "error", None)
    message = str(exc) or type(exc).__name__
    if isinstance(code, str) and code and not message.startswith(code):
        return f"{code}: {message}"
    return message


def _normalise(expr: str, value: Any) -> Any:
    """JSON values with JavaScript number semantics (see the module docstring)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JsonataError(expr, "D1001: Number out of range")
        if value.is_integer() and abs(value) < _FLOAT_AS_INT_LIMIT:
            return int(value)
        return value
    if isinstance(value, int):
        return float(value) if abs(value) >= _FLOAT_AS_INT_LIMIT else value
    if isinstance(value, list):
        return [_normalise(expr, item) for item in value]
    if isinstance(value, dict):
        return {key: _normalise(expr, item) for key, item in value.items()}
    raise JsonataError(expr, f"the result is not a JSON value ({type(value).__name__})")


def _normalise_python(expr: str, value: Any, *, top: bool = True) -> Any:
    """jsonata-python results: None is undefined at the top and null (from the input) inside values."""
    from jsonata.utils import Utils

    if value is None:
        return UNDEFINED if top else None
    if value is Utils.NULL_VALUE:
        return None
    if isinstance(value, list):
        return [_normalise_python(expr, item, top=False) for item in value]
    if isinstance(value, Mapping):
        return {key: _normalise_python(expr, item, top=False) for key, item in value.items()}
    if isinstance(value, decimal.Decimal):
        value = float(value)
    return _normalise(expr, value)


class _HalfEvenDecimal(decimal.Decimal):
    """A Decimal that rounds half-to-even when quantized, whatever rounding the caller asks for.

    jsonata-python's format_number quantizes with ROUND_HALF_UP; handing it this type (built from
    the number's shortest decimal text, like JavaScript's) yields JavaScript's rounding. Products
    keep the type because format_number scales the value for percent, per-mille and exponents.
    """

    def quantize(self, exp: Any, rounding: Any = None, context: Any = None) -> decimal.Decimal:
        return decimal.Decimal.quantize(self, exp, rounding=decimal.ROUND_HALF_EVEN, context=context)

    def __mul__(self, other: Any) -> _HalfEvenDecimal:
        return _HalfEvenDecimal(decimal.Decimal.__mul__(self, other))

    __rmul__ = __mul__


class _JsFormatNumber:
    @staticmethod
    def format_number(value: Any, picture: Any, decimal_format: Any) -> Any:
        from jsonata.functions import Functions

        if isinstance(value, float) and math.isfinite(value):
            value = _HalfEvenDecimal(repr(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            value = _HalfEvenDecimal(value)
        return Functions.format_number(value, picture, decimal_format)
