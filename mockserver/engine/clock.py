"""The one clock of an app. Behaviours, the journal and plugins read time from it, never from the
wall directly, so a user can move it (``PUT /__admin/clock``) to test date-dependent flows.

By default it follows the wall clock. ``set(at)`` pins it to an instant (it then stands still
unless ``running`` is true, in which case it runs on from there); ``advance(seconds)`` moves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._offset = 0.0  # seconds added to the wall clock
        self._frozen: float | None = None  # epoch seconds while pinned and standing still

    def time(self) -> float:
        """Seconds since the epoch, as this clock sees it."""
        return self._frozen if self._frozen is not None else self._wall() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def iso(self) -> str:
        """``now()`` as epilot writes timestamps: ``2026-12-04T15:36:55.123Z``."""
        t = self.time()
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(t * 1000) % 1000:03d}Z"

    def set(self, at: datetime, *, running: bool = False) -> None:
        target = at.timestamp() if at.tzinfo else at.replace(tzinfo=UTC).timestamp()
        if running:
            self._frozen = None
            self._offset = target - self._wall()
        else:
            self._frozen = target

    def advance(self, seconds: float) -> None:
        if self._frozen is not None:
            self._frozen += seconds
        else:
            self._offset += seconds

    def reset(self) -> None:
        self._offset = 0.0
        self._frozen = None

    @property
    def pinned(self) -> bool:
        return self._frozen is not None or self._offset != 0.0

    def describe(self) -> dict[str, object]:
        return {"now": self.iso(), "pinned": self.pinned, "running": self._frozen is None,
                "offset_seconds": round(self._offset, 3) if self._frozen is None else None}


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant (``Z`` or an offset; a date alone is midnight UTC). Raises ValueError."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
