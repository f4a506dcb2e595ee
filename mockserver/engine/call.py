"""What a behaviour gets: the validated request, who made it, and the app's services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.datastructures import Headers

from .auth import Principal
from .errors import error_response
from .prefer import Prefer
from .response import NO_BODY, MockResponse

if TYPE_CHECKING:
    from .operation import CompiledOperation
    from .services import Services

T = TypeVar("T")


@dataclass
class Call:
    op: CompiledOperation
    params: dict[str, Any]
    body: Any
    principal: Principal
    prefer: Prefer
    headers: Headers
    services: Services
    content_type: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # per-request memo (e.g. what the caller may see)

    def service(self, kind: type[T]) -> T:
        """A plugin's service by type (``call.service(World)``)."""
        return self.services.get(kind)

    def error(self, kind: str, message: str) -> MockResponse:
        return error_response(self.op, kind, message)

    def json(self, body: Any, status: int | None = None, headers: dict[str, str] | None = None) -> MockResponse:
        code = status if status is not None else self.op.concrete(self.op.success_status)
        media = None
        found = self.op.response_for(code)
        if found is not None:
            media = found[1].pick_media()
        ctype = media.content_type if media is not None else "application/json"
        return MockResponse(code, body, ctype, dict(headers or {}))

    def empty(self, status: int = 204) -> MockResponse:
        return MockResponse(status, NO_BODY, None)

    def generic(self) -> MockResponse:
        return self.services.responder.respond(self.op, self.prefer, self.headers.get("accept"))
