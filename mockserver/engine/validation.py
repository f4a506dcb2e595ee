"""Output validation: does a response match what its operation documents?

Used by ``serve --validate-responses`` (a violation becomes a 500 naming the operation and the
place of the error) and by the test suite, so drift between behaviours and specs shows at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from .oas_schema import first_error
from .response import NO_BODY, MockResponse

if TYPE_CHECKING:
    from .operation import CompiledOperation


def check_response(op: CompiledOperation, response: MockResponse) -> str | None:
    """Why ``response`` violates ``op``'s documented responses, or None when it conforms."""
    found = op.response_for(response.status)
    if found is None:
        return f"status {response.status} is not documented"
    _code, spec = found
    if response.body is NO_BODY or not spec.media:
        return None
    ctype = (response.content_type or "").split(";")[0].strip().lower()
    media = next((m for key, m in spec.media.items() if key.split(";")[0].strip().lower() == ctype), None)
    if media is None:
        media = next((m for key, m in spec.media.items() if _covers(key, ctype)), None)
    if media is None:
        return f"content type '{ctype}' is not documented for status {response.status}"
    if not media.is_json or media.schema is None:
        return None
    body = response.body
    if isinstance(body, bytes):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "body is not valid JSON"
    problem = first_error(op.api.generator.validator(media.schema), body)
    return f"body {problem}" if problem else None


def _covers(pattern: str, ctype: str) -> bool:
    pattern = pattern.split(";")[0].strip().lower()
    return pattern == "*/*" or (pattern.endswith("/*") and ctype.startswith(pattern[:-1]))
