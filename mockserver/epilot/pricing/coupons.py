"""Coupon validity, promo-code gating and ranking: only the best ranked coupon of a line applies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .numbers import HUNDRED, ZERO, is_number, parse_decimal

CASHBACK_PERIODS = ("0", "12")
_UNDATED = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Coupon:
    snapshot: dict[str, Any]
    category: str  # "discount" | "cashback"
    kind: str  # "fixed" | "percentage"
    value: Decimal  # percent for percentage coupons, major currency units for fixed ones
    created_at: datetime | None

    @property
    def percentage(self) -> Decimal:
        """The percentage clamped to 0..100."""
        return min(max(self.value, ZERO), HUNDRED)

    @property
    def cashback_period(self) -> str:
        period = self.snapshot.get("cashback_period")
        period = str(period) if isinstance(period, str | int) and not isinstance(period, bool) else "0"
        return period if period in CASHBACK_PERIODS else "0"


def _created_at(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_coupon(snapshot: dict[str, Any]) -> Coupon | None:
    """The coupon, or None when it is invalid and must be dropped.

    A fixed coupon needs ``fixed_value``, a numeric ``fixed_value_decimal`` and
    ``fixed_value_currency``; a percentage coupon needs a numeric ``percentage_value``.
    """
    category, kind = snapshot.get("category"), snapshot.get("type")
    if category not in ("discount", "cashback"):
        return None
    if kind == "fixed":
        raw = snapshot.get("fixed_value_decimal")
        if snapshot.get("fixed_value") is None or not snapshot.get("fixed_value_currency") or not is_number(raw):
            return None
    elif kind == "percentage":
        raw = snapshot.get("percentage_value")
        if not is_number(raw):
            return None
    else:
        return None
    value = parse_decimal(raw, f"coupon {snapshot.get('_id')!r}")
    return Coupon(snapshot, str(category), str(kind), value, _created_at(snapshot.get("_created_at")))


def unlocked_coupon_ids(redeemed_promos: Iterable[dict[str, Any]]) -> frozenset[str]:
    """Ids of the coupons that the redeemed promo codes unlock."""
    ids = set()
    for promo in redeemed_promos:
        for coupon in promo.get("coupons") or []:
            if isinstance(coupon, dict) and coupon.get("_id"):
                ids.add(str(coupon["_id"]))
    return frozenset(ids)


def rank_key(coupon: Coupon) -> tuple[int, int, Decimal, datetime]:
    """Cashback before discount, percentage before fixed, larger value first, older first (undated last)."""
    return (
        0 if coupon.category == "cashback" else 1,
        0 if coupon.kind == "percentage" else 1,
        -coupon.value,
        coupon.created_at or _UNDATED,
    )


def applicable_coupons(snapshots: Iterable[dict[str, Any]], unlocked: frozenset[str]) -> list[Coupon]:
    """Valid coupons that are not locked behind an unredeemed promo code, best first."""
    coupons = []
    for snapshot in snapshots:
        coupon = parse_coupon(snapshot)
        if coupon is None:
            continue
        if snapshot.get("requires_promo_code") is True and str(snapshot.get("_id")) not in unlocked:
            continue
        coupons.append(coupon)
    return sorted(coupons, key=rank_key)


def best_coupon(snapshots: Iterable[dict[str, Any]], unlocked: frozenset[str]) -> Coupon | None:
    ranked = applicable_coupons(snapshots, unlocked)
    return ranked[0] if ranked else None
