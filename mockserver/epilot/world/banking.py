"""German bank accounts: IBANs with valid check digits at real banks, and SEPA payment methods."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Bank:
    name: str
    blz: str
    bic: str


BANKS: tuple[Bank, ...] = (
    Bank("Sparkasse KölnBonn", "37050198", "COLSDE33XXX"),
    Bank("Commerzbank", "37040044", "COBADEFFXXX"),
    Bank("Deutsche Bank", "37070060", "DEUTDEDKXXX"),
    Bank("Postbank", "37010050", "PBNKDEFFXXX"),
    Bank("ING", "50010517", "INGDDEFFXXX"),
    Bank("DKB Deutsche Kreditbank", "12030000", "BYLADEM1001"),
    Bank("GLS Gemeinschaftsbank", "43060967", "GENODEM1GLS"),
    Bank("Berliner Sparkasse", "10050000", "BELADEBEXXX"),
    Bank("Hamburger Sparkasse", "20050550", "HASPDEHHXXX"),
    Bank("Stadtsparkasse München", "70150000", "SSKMDEMMXXX"),
)


def german_iban(blz: str, account: str) -> str:
    """The IBAN of a German account, with ISO 7064 mod 97-10 check digits."""
    bban = blz + account.zfill(10)
    # "DE00" moved to the end, letters as numbers: D=13, E=14.
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


def iban_is_valid(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def sepa_payment(rng: random.Random, holder: str, mandate_date: date, mandate_reference: str,
                 item_id: str | None = None) -> dict[str, Any]:
    """A ``PaymentMethod`` item for SEPA direct debit from a fresh account of ``holder``."""
    bank = rng.choice(BANKS)
    method: dict[str, Any] = {"_id": item_id} if item_id else {}
    method.update({
        "type": "payment_sepa",
        "_tags": ["Primary"],
        "_primary": True,
        "data": {
            "fullname": holder,
            "iban": german_iban(bank.blz, str(rng.randint(10 ** 8, 10 ** 10 - 1))),
            "bic_number": bank.bic,
            "bank_name": bank.name,
            "mandate_reference": mandate_reference,
            "mandate_date": mandate_date.isoformat(),
        },
    })
    return method
