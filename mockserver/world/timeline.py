"""The world's fixed clock and date helpers. Nothing here reads the wall clock."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

WORLD_NOW = datetime(2026, 11, 1, tzinfo=UTC)
"""The moment the generated world describes: every timestamp in it lies at or before this one
(except the start dates of contracts that are approved but not yet supplied)."""

MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember")


def iso(moment: datetime) -> str:
    """epilot's timestamp format: UTC with milliseconds, e.g. ``2026-11-01T00:00:00.000Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def day(value: date) -> str:
    return value.isoformat()


def add_months(value: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the length of the target month."""
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(value.day, last))


def month_start(value: date) -> date:
    return value.replace(day=1)


def at(value: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(value.year, value.month, value.day, hour, minute, tzinfo=UTC)


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end], at whole milliseconds."""
    span = max(0, int((end - start).total_seconds() * 1000))
    return start + timedelta(milliseconds=rng.randint(0, span))


def office_hours(rng: random.Random, value: date) -> datetime:
    """A moment on ``value`` during German office hours (07:00-17:59 UTC)."""
    return at(value, rng.randint(7, 17), rng.randint(0, 59)) + timedelta(seconds=rng.randint(0, 59),
                                                                      milliseconds=rng.randint(0, 999))
