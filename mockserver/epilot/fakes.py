"""epilot's reference numbers and market ids for generated bodies (the engine's fake data knows
only generic names): customer and contract numbers, MaLo/MeLo ids, OBIS codes, organization ids."""

from __future__ import annotations

import string
from typing import Any

from mockserver.engine.fakedata import Producer, State, number_like


def _ma_lo_id(s: State) -> str:
    # MaLo-IDs are 11 digits whose last digit is a check digit; plausible shape is enough here.
    return "5" + "".join(s.rng.choice(string.digits) for _ in range(10))


def _me_lo_id(s: State) -> str:
    return "DE" + "".join(s.rng.choice(string.digits + string.ascii_uppercase) for _ in range(31))


def _obis(s: State) -> str:
    return s.rng.choice(["1-0:1.8.0", "1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.0", "7-0:3.0.0", "8-0:1.0.0"])


def _meter_number(s: State) -> str:
    return "1" + s.rng.choice(["ESY", "EMH", "ITF", "LGZ"]) + "".join(s.rng.choice(string.digits) for _ in range(8))


def _org_id(s: State) -> Any:
    return str(s.rng.randint(700000, 799999))


PRODUCERS: dict[str, Producer] = {
    "customer_number": number_like("K-"),
    "contract_number": number_like("V-"),
    "order_number": number_like("OR-"),
    "billing_account_number": number_like("BA-"),
    "meter_number": _meter_number,
    "ma_lo_id": _ma_lo_id,
    "malo_id": _ma_lo_id,
    "me_lo_id": _me_lo_id,
    "melo_id": _me_lo_id,
    "obis_number": _obis,
    "obis": _obis,
    "_org": _org_id,
    "org_id": _org_id,
    "organization_id": _org_id,
}
