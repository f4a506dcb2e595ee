"""The world's fixed clock and date helpers. Nothing here reads the wall clock."""

from __future__ import annotations

import random
from calendar import monthrange
from datetime import UTC, date, datetime, timedelta

WORLD_NOW = datetime(2026, 11, 1, tzinfo=UTC)
"""The moment the generated world describes. Everything that happened (creation, updates, readings,
payments, messages) lies at or before it; only dates that are future by nature (supply start of an
approved contract, quote expiry, requested dates, calibration deadlines) lie after it."""

MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember")


def iso(moment: datetime) -> str:
    """epilot's timestamp format for a UTC moment, with milliseconds: ``2026-11-01T00:00:00.000Z``."""
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def add_months(value: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the length of the target month."""
    year, month = divmod(value.year * 12 + value.month - 1 + months, 12)
    return date(year, month + 1, min(value.day, monthrange(year, month + 1)[1]))


def month_end(value: date) -> date:
    return value.replace(day=monthrange(value.year, value.month)[1])


def at(value: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(value.year, value.month, value.day, hour, minute, tzinfo=UTC)


def between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end], at whole milliseconds."""
    span = max(0, int((end - start).total_seconds() * 1000))
    return start + timedelta(milliseconds=int(rng.random() * (span + 1)))


def office_hours(rng: random.Random, value: date) -> datetime:
    """A moment on ``value`` during German office hours (07:00-17:59 UTC), at whole milliseconds."""
    return at(value, 7) + timedelta(milliseconds=int(rng.random() * 39_600_000))
