"""The configuration of one app: what the engine needs, plus the plugins' own options by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_BODY_LIMIT = 1024 * 1024


class StartupError(Exception):
    """A problem that stops the mock from starting; ``str()`` is one line."""


@dataclass
class MockConfig:
    specs: list[str] = field(default_factory=list)  # --spec values; empty = every bundled spec
    seed: int = 0
    auth: str = "strict"
    dynamic: bool = False
    body_limit: int = DEFAULT_BODY_LIMIT
    cors: bool = True
    cors_origins: list[str] | None = None  # None: any origin, without credentials; a list: those, with credentials
    admin_token: str | None = None  # a bearer token the admin API requires (None: open, as on loopback)
    body_timeout: float = 5.0  # seconds to receive a request body (408 beyond)
    journal_size: int = 1000
    journal_body_limit: int = 16 * 1024  # bytes of each request and response body the journal keeps
    journal_mask: list[str] = field(default_factory=list)  # more header/field names to mask in the journal
    behaviours: bool = True  # False: stateless, no plugin is installed
    state: str | None = None  # where the store keeps state (a SQLite file); None: in memory
    validate_responses: bool = False  # check every response against the spec (a violation is a 500)
    manual_time: bool = False  # deferred work (retries) waits for the clock to be advanced (PUT /__admin/clock)
    latency: str | None = None  # a delay (range) for every answer, e.g. "50ms..300ms"
    plugins: list[str] | None = None  # names of the plugins to install; None: every installed one
    listen: list[str] = field(default_factory=list)  # HOST:PORT the server listens on (outbound requests avoid them)
    outbound_deny: list[str] = field(default_factory=list)  # hosts, *.suffixes, addresses, CIDRs never called
    outbound_allow: list[str] | None = None  # if given: the only hosts/addresses/CIDRs outbound requests may reach
    options: dict[str, Any] = field(default_factory=dict)  # plugin options, e.g. {"world_size": "small"}

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)
