"""Keeping secrets out of reports and logs."""

from __future__ import annotations

MASK = "[masked]"


class Redactor:
    """Replaces every known secret (tokens, header values) in a text with a mask."""

    def __init__(self, secrets: list[str]) -> None:
        # Longest first, so a token that contains another one is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
