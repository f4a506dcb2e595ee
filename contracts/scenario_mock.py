"""Scenario steps that only an epilot-mock can run: setting and clearing runtime overrides (a status,
a fault, a delay for matching calls), and telling the connection faults a step expects apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from mockserver.engine.faults import ConnectionFault

OVERRIDES = "/__admin/overrides"
# (method, admin path, JSON body) -> (status, parsed body)
AdminSend = Callable[[str, str, Any], tuple[int, Any]]


def mock_only_step(doc: dict[str, Any]) -> str | None:
    """The first step that needs an epilot-mock target (it sets or clears overrides), if any."""
    return next((s["name"] for s in doc["steps"] if "override" in s or "clear_overrides" in s), None)


class Overrides:
    """The overrides one scenario run sets; the ones still there are removed when it ends."""

    def __init__(self, send: AdminSend) -> None:
        self.send = send
        self.created: list[str] = []

    def set(self, override: Any) -> tuple[str | None, str | None]:
        """Install an override; (its id, None), or (None, the mock's reason for refusing it)."""
        status, body = self.send("POST", OVERRIDES, override)
        if status != 201 or not isinstance(body, dict):
            return None, f"the mock refused the override ({status}): {_message(body)}"
        self.created.append(body["id"])
        return body["id"], None

    def clear(self, which: Any) -> str | None:
        """``true``: remove every override; a list: remove those (each must exist)."""
        if which is True:
            status, body = self.send("DELETE", OVERRIDES, None)
            return None if status == 204 else f"clearing overrides failed ({status}): {_message(body)}"
        for override_id in which:
            status, body = self.send("DELETE", f"{OVERRIDES}/{override_id}", None)
            if status != 204:
                return f"removing override '{override_id}' failed ({status}): {_message(body)}"
        return None

    def cleanup(self) -> None:
        for override_id in self.created:
            self.send("DELETE", f"{OVERRIDES}/{override_id}", None)  # 404 when already gone: fine
        self.created.clear()


def fault_kind(exc: BaseException) -> str | None:
    """Which connection fault a client-side exception shows (None: not one of the mock's faults)."""
    if isinstance(exc, ConnectionFault):  # in-process: the app's own exception
        return exc.kind
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "empty" if "without sending a response" in str(exc) else "malformed"
    if isinstance(exc, httpx.ReadError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionResetError) or "reset by peer" in str(cause).lower():
                return "reset"
            cause = cause.__cause__ or cause.__context__
    return None


def _message(body: Any) -> str:
    if isinstance(body, dict) and "message" in body:
        return str(body["message"])
    return str(body)[:300]
