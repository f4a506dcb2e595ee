"""The JSONata interface: JavaScript number semantics, null vs undefined, errors and thread safety, per engine."""

from __future__ import annotations

import gc
import platform
import subprocess
import sys
import textwrap
import threading

import orjson
import pytest

from mockserver.epilot.erp import jsonata
from mockserver.epilot.erp.jsonata import (
    ENGINE_ENV,
    JSONATA_PYTHON,
    JSONATAPY,
    UNDEFINED,
    JsonataError,
    available_engines,
    compile_expression,
    is_truthy,
    selected_engine,
)

ENGINES = available_engines()
engines = pytest.mark.parametrize("engine", ENGINES)


@pytest.mark.skipif(
    platform.machine() != "x86_64" or sys.platform != "linux", reason="jsonatapy has wheels for x86_64 Linux only"
)
def test_both_engines_are_installed_here():
    # Where jsonatapy installs, both engines must be tested, so the fallback does not rot.
    assert set(ENGINES) == {JSONATAPY, JSONATA_PYTHON}


# JavaScript (jsonata 2.x) results, from the semantics reference and the JS number-to-string rules.
JS_EXAMPLES = [
    ("$string(12.50)", "12.5"),
    ("$string($round(3499.9 * 100))", "349990"),
    ("$formatNumber(2999.9, '#0.00')", "2999.90"),
    ("$formatNumber(0.125, '#0.00')", "0.12"),
    ("$formatNumber(2.675, '#0.00')", "2.68"),
    ("$formatNumber(-2.675, '#0.00')", "-2.68"),
    ("$formatNumber(0.5, '0')", "0"),
    ("$formatNumber(1.5, '0')", "2"),
    ("$formatNumber(1234.5678, '#,##0.00')", "1,234.57"),
    ("$formatNumber(12, '#0.00')", "12.00"),
    ("$formatNumber(0.00125, '0.00e0')", "1.25e-3"),
    ("$string(1e21)", "1e+21"),
    ("$string(100)", "100"),
    ("$string(1.0)", "1"),
    ("$string(0.1 + 0.2)", "0.3"),
    ("$string(1e-7)", "1e-7"),
    ("$string(-0)", "0"),
    ("$string({'a': 2.50, 'b': [1.0]})", '{"a":2.5,"b":[1]}'),
]


@engines
@pytest.mark.parametrize(("expr", "expected"), JS_EXAMPLES)
def test_numbers_print_as_in_javascript(engine, expr, expected):
    assert compile_expression(expr, engine=engine).evaluate(None) == expected


@engines
@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("$round(3499.9 * 100)", 349990),
        ("3499.9 * 100", 349990),
        ("$count([1, 2, 3])", 3),
        ("4 / 2", 2),
        ("$sum([1.5, 1.5])", 3),
        ("{'x': 1.0 * 2}", {"x": 2}),
        ("[1.0, 2.5]", [1, 2.5]),
    ],
)
def test_whole_numbers_are_ints(engine, expr, expected):
    result = compile_expression(expr, engine=engine).evaluate(None)
    assert result == expected
    assert orjson.dumps(result) == orjson.dumps(expected)  # 349990, never 349990.0


@engines
def test_huge_numbers_are_floats_as_in_javascript(engine):
    assert compile_expression("1e21", engine=engine).evaluate(None) == 1e21
    assert isinstance(compile_expression("1e21", engine=engine).evaluate(None), float)
    # An input integer beyond 64 bits is a double in JavaScript; both engines agree on it.
    result = compile_expression("a", engine=engine).evaluate({"a": 2**70})
    assert isinstance(result, float)
    assert result == float(2**70)


@engines
@pytest.mark.parametrize("source", ["1.5e300 * 1e10", "[1, -1e308 * 10]", "{'a': {'b': 1e308 * 10}}"])
def test_non_finite_numbers_are_errors(engine, source):
    with pytest.raises(JsonataError, match="D1001"):
        compile_expression(source, engine=engine).evaluate({})


@engines
def test_null_is_not_undefined(engine):
    data = {"a": None, "b": {"c": None, "l": [None, 1]}}

    def ev(expr):
        return compile_expression(expr, engine=engine).evaluate(data)

    assert ev("a") is None
    assert ev("null") is None
    assert ev("missing") is UNDEFINED
    assert ev("undefined") is UNDEFINED
    assert ev("false ? 1 : undefined") is UNDEFINED
    assert ev("b") == {"c": None, "l": [None, 1]}
    assert ev("b.c") is None
    assert ev("{'k': missing, 'n': null}") == {"n": None}
    assert ev("[1, missing, 2]") == [1, 2]
    assert ev("$exists(a)") is True
    assert ev("$exists(missing)") is False
    assert compile_expression("$", engine=engine).evaluate(UNDEFINED) is UNDEFINED


def test_undefined_is_a_falsy_singleton():
    import copy

    assert not UNDEFINED
    assert repr(UNDEFINED) == "UNDEFINED"
    assert copy.deepcopy(UNDEFINED) is UNDEFINED
    assert copy.deepcopy({"x": UNDEFINED})["x"] is UNDEFINED


@engines
def test_bindings(engine):
    expr = compile_expression("$prefix & name & $suffix", engine=engine)
    assert expr.evaluate({"name": "Ada"}, {"prefix": "<", "suffix": ">"}) == "<Ada>"
    assert expr.evaluate({"name": "Bob"}, {"prefix": "[", "suffix": "]"}) == "[Bob]"


@engines
def test_results_do_not_alias_the_input(engine):
    data = {"a": {"b": [1, 2]}}
    result = compile_expression("a", engine=engine).evaluate(data)
    result["b"].append(3)
    assert data == {"a": {"b": [1, 2]}}


@engines
@pytest.mark.parametrize("source", ["a +", "$foo(", "}", "", "a[", "'unterminated"])
def test_syntax_errors(engine, source):
    with pytest.raises(JsonataError) as info:
        compile_expression(source, engine=engine)
    assert info.value.expression == source
    assert info.value.message
    assert repr(source) in str(info.value)


@engines
@pytest.mark.parametrize(("source", "code"), [("'a' + 1", "T2001"), ("$error('boom')", "boom")])
def test_runtime_errors(engine, source, code):
    expr = compile_expression(source, engine=engine)
    with pytest.raises(JsonataError) as info:
        expr.evaluate({})
    assert code in info.value.message
    assert info.value.expression == source


@engines
def test_non_json_input_is_an_error(engine):
    with pytest.raises(JsonataError, match="JSON"):
        compile_expression("a", engine=engine).evaluate({"a": {1, 2}})


def test_expression_must_be_a_string():
    with pytest.raises(JsonataError, match="must be a string"):
        compile_expression(42)  # type: ignore[arg-type]


@pytest.mark.skipif(JSONATAPY not in ENGINES, reason="jsonatapy has no wheel for this platform")
def test_jsonatapy_panic_becomes_a_jsonata_error():
    source = "a + 1"
    expr = compile_expression(source, engine=JSONATAPY)
    compiled = jsonata._ENGINE.cache[source]
    # A compiled jsonatapy object used off the engine thread panics (a BaseException).
    with pytest.raises(JsonataError, match="panic"):
        jsonata._rust_guard(source, compiled.evaluate_json_or_none, '{"a": 1}', None)
    assert expr.evaluate({"a": 1}) == 2


@pytest.mark.skipif(JSONATAPY not in ENGINES, reason="jsonatapy has no wheel for this platform")
def test_jsonatapy_survives_short_lived_threads():
    # Regression: compiling on a thread after an earlier short-lived thread had compiled and ended
    # crashed the interpreter (each TestClient request without a context runs on a new thread).
    script = textwrap.dedent("""
        import threading
        from mockserver.epilot.erp.jsonata import compile_expression
        out = []
        def work(i):
            out.append(compile_expression("a * 2 + " + str(i % 2), engine="jsonatapy").evaluate({"a": i}))
        for i in range(6):
            t = threading.Thread(target=work, args=(i,))
            t.start()
            t.join()
        print(out)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[0, 3, 4, 7, 8, 11]"
    assert "dropped on another thread" not in done.stderr


@engines
def test_expressions_may_be_released_on_any_thread(engine, monkeypatch):
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    holder = [compile_expression("a * 2", engine=engine)]
    results: list[object] = []

    def evaluate_then_release():
        results.append(holder[0].evaluate({"a": 21}))
        holder.clear()  # the last reference to the expression goes away on this thread
        gc.collect()

    worker = threading.Thread(target=evaluate_then_release)
    worker.start()
    worker.join()
    gc.collect()
    assert results == [42]
    assert unraisable == []


@engines
def test_one_compiled_expression_is_safe_across_threads(engine):
    # `$$` reads the root binding, which jsonata-python shares between threads unless bindings are fresh.
    expr = compile_expression("$string(n * 2) & '|' & $formatNumber(n / 100, '#0.00') & '|' & $$.tag", engine=engine)
    threads_count, per_thread = 16, 200
    barrier = threading.Barrier(threads_count)
    wrong: list[tuple[int, int, object]] = []

    def work(t):
        barrier.wait()
        for i in range(per_thread):
            n = t * 1000 + i
            got = expr.evaluate({"n": n, "tag": f"t{t}"})
            if got != f"{n * 2}|{n // 100}.{n % 100:02d}|t{t}":
                wrong.append((t, i, got))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_engine_selection(monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "python")
    assert selected_engine() == JSONATA_PYTHON
    assert compile_expression("1").engine == JSONATA_PYTHON
    monkeypatch.setenv(ENGINE_ENV, "jsonata-python")
    assert selected_engine() == JSONATA_PYTHON
    monkeypatch.setenv(ENGINE_ENV, "cobol")
    with pytest.raises(ValueError, match="cobol"):
        selected_engine()
    monkeypatch.delenv(ENGINE_ENV)
    assert selected_engine() == ENGINES[0]
    with pytest.raises(ValueError, match="unknown or not installed"):
        compile_expression("1", engine="cobol")


@pytest.mark.skipif(JSONATAPY not in ENGINES, reason="jsonatapy has no wheel for this platform")
def test_jsonatapy_is_preferred(monkeypatch):
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert selected_engine() == JSONATAPY
    monkeypatch.setenv(ENGINE_ENV, "rust")
    assert compile_expression("1").engine == JSONATAPY


def test_a_missing_engine_is_reported(monkeypatch):
    monkeypatch.setattr(jsonata, "available_engines", lambda: (JSONATA_PYTHON,))
    monkeypatch.setenv(ENGINE_ENV, "jsonatapy")
    with pytest.raises(ValueError, match="not installed"):
        selected_engine()
    monkeypatch.delenv(ENGINE_ENV)
    assert selected_engine() == JSONATA_PYTHON


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        (UNDEFINED, False),
        (None, False),
        (False, False),
        (True, True),
        (0, False),
        (0.5, True),
        ("", False),
        ("false", True),
        ([], False),
        ([0, ""], False),
        ([0, 1], True),
        ({}, False),
        ({"a": 0}, True),
    ],
)
def test_truthiness_follows_jsonata_boolean(value, truthy):
    assert is_truthy(value) is truthy


@engines
@pytest.mark.parametrize("value", [None, False, True, 0, 0.5, "", "false", [], [0, ""], [0, 1], {}, {"a": 0}])
def test_truthiness_matches_the_engines_boolean(engine, value):
    assert compile_expression("$boolean(v)", engine=engine).evaluate({"v": value}) is is_truthy(value)
