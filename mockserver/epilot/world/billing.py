"""Billing accounts and their billing events: monthly installments of the last 12 months and
occasional reimbursements from the yearly settlement.

A balance is the open amount in cents: installments that were due before ``WORLD_NOW`` and are
not paid yet (0 when everything is paid).
"""

from __future__ import annotations

from datetime import date, timedelta

from .context import WorldContext, link_both, relation
from .customer_profile import Customer
from .model import Entity
from .money import two_places
from .timeline import MONTHS_DE, WORLD_NOW, add_months, at, between, office_hours

INSTALLMENT_MONTHS = 12


def billing_account(ctx: WorldContext, customer: Customer) -> Entity:
    number = f"BA-{ctx.next_number('billing_account', 100001)}"
    created = at(customer.since, 9)
    account = ctx.entity(
        "billing_account", f"{number} {customer.name}", created, between(ctx.rng, created, WORLD_NOW),
        ["Geschäftskunde" if customer.account else "Privatkunde"],
        billing_account_number=number, balance=0, balance_decimal="0.00", balance_currency="EUR",
        payment_method=[{k: v for k, v in customer.payment.items() if k != "_id"}],
        billing_address={"$relation_ref": [{"entity_id": customer.contact["_id"], "path": "address",
                                            "_id": customer.address["_id"]}]},
        billing_email=customer.email, billing_contact=relation(customer.contact),
    )
    link_both(customer.contact, "billing_accounts", account, "contact")
    return account


def due_dates(start: date, end: date | None, due_day: int) -> list[date]:
    """Due dates of the monthly installments of the last 12 months while a contract supplies."""
    now = WORLD_NOW.date()
    first_month = add_months(now.replace(day=1), -INSTALLMENT_MONTHS)
    out = []
    for n in range(INSTALLMENT_MONTHS):
        due = add_months(first_month, n).replace(day=due_day)
        if start <= due < now and (end is None or due <= end):
            out.append(due)
    return out


def installments(ctx: WorldContext, account: Entity, contract: Entity, start: date, end: date | None,
                 due_day: int, amount: int, unpaid: int) -> int:
    """Record the installments of ``contract``; the last ``unpaid`` of them are still open.
    Returns the open amount."""
    rng = ctx.rng
    dates = due_dates(start, end, due_day)
    open_amount = 0
    for n, due in enumerate(dates):
        paid = n < len(dates) - unpaid
        created = office_hours(rng, add_months(due, -1))
        attributes = {
            "type": "installment", "billing_amount": amount, "billing_amount_decimal": two_places(amount),
            "billing_currency": "EUR", "external_id": f"ERP-{rng.randint(10 ** 9, 10 ** 10 - 1)}",
            "due_date": due.isoformat(),
        }
        if paid:
            paid_on = due + timedelta(days=rng.choice((0, 0, 0, 1, 2)))
            attributes["paid_date"] = paid_on.isoformat()
            updated = office_hours(rng, paid_on)
        else:
            open_amount += amount
            updated = created
        event = ctx.entity("billing_event", f"Abschlag {MONTHS_DE[due.month - 1]} {due.year}", created, updated,
                           ["Abschlag"], contract=relation(contract), **attributes)
        link_both(account, "billing_events", event, "billing_account")
    return open_amount


def reimbursement(ctx: WorldContext, account: Entity, contract: Entity, year: int) -> None:
    """A paid-out credit from the yearly settlement of ``year``."""
    rng = ctx.rng
    amount = rng.randint(20, 180) * 100 + rng.choice((0, 50, 90))
    due = date(year + 1, rng.choice((2, 3)), rng.randint(1, 28))
    created = office_hours(rng, due - timedelta(days=14))
    event = ctx.entity(
        "billing_event", f"Erstattung Jahresabrechnung {year}", created, office_hours(rng, due), ["Erstattung"],
        type="reimbursement", billing_amount=amount, billing_amount_decimal=two_places(amount),
        billing_currency="EUR", external_id=f"ERP-{rng.randint(10 ** 9, 10 ** 10 - 1)}", due_date=due.isoformat(),
        paid_date=due.isoformat(), contract=relation(contract))
    link_both(account, "billing_events", event, "billing_account")


def set_balance(account: Entity, open_amount: int) -> None:
    account["balance"] = open_amount
    account["balance_decimal"] = two_places(open_amount)
