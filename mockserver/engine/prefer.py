"""The `Prefer` request header, decoded once at the edge into a small config (Prism-compatible).

- ``Prefer: code=404``: answer with that documented status;
- ``Prefer: example=NAME``: answer with that named example;
- ``Prefer: dynamic=true``: generate a fresh body for this request instead of the static one.

Any of them sends the request to the generic responder, bypassing behaviours. Two more shape how
the answer is sent, whoever makes it:

- ``Prefer: delay=800`` (milliseconds; also ``800ms``, ``1.5s``, ``100..500``): wait that long first;
- ``Prefer: fault=reset|empty|malformed|timeout``: break the connection instead (see `faults.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .faults import FAULTS, parse_delay


@dataclass(frozen=True)
class Prefer:
    code: int | None = None
    example: str | None = None
    dynamic: bool | None = None
    error: str | None = None  # a malformed preference, reported as a 400
    delay: tuple[float, float] | None = None  # seconds, low..high
    fault: str | None = None

    @property
    def controls(self) -> bool:
        return self.code is not None or self.example is not None or bool(self.dynamic)


NONE = Prefer()


def parse_prefer(header: str | None) -> Prefer:
    if not header:
        return NONE
    code: int | None = None
    example: str | None = None
    dynamic: bool | None = None
    delay: tuple[float, float] | None = None
    fault: str | None = None
    for item in header.replace(";", ",").split(","):
        name, _, value = item.strip().partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "code":
            if not value.isdigit() or not 100 <= int(value) <= 599:
                return Prefer(error=f"Prefer: code={value} is not an HTTP status code")
            code = int(value)
        elif name == "example":
            if not value:
                return Prefer(error="Prefer: example= needs an example name")
            example = value
        elif name == "dynamic":
            if value.lower() not in ("true", "false"):
                return Prefer(error=f"Prefer: dynamic={value} must be true or false")
            dynamic = value.lower() == "true"
        elif name == "delay":
            try:
                delay = parse_delay(value)
            except ValueError as exc:
                return Prefer(error=f"Prefer: delay={value}: {exc}")
        elif name == "fault":
            if value.lower() not in FAULTS:
                return Prefer(error=f"Prefer: fault={value} is not a fault ({', '.join(FAULTS)})")
            fault = value.lower()
    return Prefer(code, example, dynamic, None, delay, fault)
