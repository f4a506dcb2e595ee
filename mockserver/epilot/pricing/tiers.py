"""Tiers of tiered prices: which tier a mapping value falls in, and how it splits over graduated tiers.

A tier covers values up to and including its ``up_to``; a value exactly at ``up_to`` stays in the
lower tier. The last tier has no upper bound, whatever its ``up_to`` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .numbers import HUNDRED, ZERO, is_number, parse_decimal, truncate12


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None
    unit_amount: Decimal  # major units, from unit_amount_decimal (else unit_amount cents)
    flat_fee: Decimal  # major units, from flat_fee_amount_decimal (else flat_fee_amount cents)


def _amount(tier: dict[str, Any], decimal_key: str, cents_key: str, where: str) -> Decimal:
    if tier.get(decimal_key) is not None:
        return truncate12(parse_decimal(tier[decimal_key], f"{where}.{decimal_key}"))
    if tier.get(cents_key) is not None:
        return truncate12(parse_decimal(tier[cents_key], f"{where}.{cents_key}") / HUNDRED)
    return ZERO


def parse_tiers(raw: object, where: str) -> list[Tier]:
    """The tiers ordered by ``up_to``, unbounded last."""
    if not isinstance(raw, list):
        return []
    tiers = []
    for index, tier in enumerate(raw):
        if not isinstance(tier, dict):
            continue
        at = f"{where}[{index}]"
        up_to = tier.get("up_to")
        tiers.append(Tier(
            up_to=parse_decimal(up_to, f"{at}.up_to") if is_number(up_to) else None,
            unit_amount=_amount(tier, "unit_amount_decimal", "unit_amount", at),
            flat_fee=_amount(tier, "flat_fee_amount_decimal", "flat_fee_amount", at),
        ))
    bounded = sorted((t for t in tiers if t.up_to is not None), key=lambda t: t.up_to or ZERO)
    return bounded + [t for t in tiers if t.up_to is None]


def select_tier(tiers: list[Tier], value: Decimal) -> Tier | None:
    """The first tier whose ``up_to`` is at or above ``value`` (the last tier past every bound)."""
    for tier in tiers:
        if tier.up_to is None or value <= tier.up_to:
            return tier
    return tiers[-1] if tiers else None


def graduated_shares(tiers: list[Tier], value: Decimal) -> list[tuple[Tier, Decimal]]:
    """Each tier with the units of ``value`` that fall into it (tiers with no units left out).

    The last tier takes everything above the previous bound, as if it had no ``up_to``.
    """
    shares = []
    lower = ZERO
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        upper = value if last or tier.up_to is None else min(value, tier.up_to)
        if upper - lower > ZERO:
            shares.append((tier, upper - lower))
        if last or tier.up_to is None or value <= tier.up_to:
            break
        lower = tier.up_to
    return shares
