"""One customer at a time: the contact (and company account), its supply contracts with orders,
meters, billing account and events, documents and messages, sales opportunities, support tickets
and, for about half of them, a portal user.

Everything created here belongs to exactly one customer; catalog and organization entities are
only referenced.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from . import billing, support
from .addresses import ascii_slug, landline, mobile, one_line, pick_city, short_id, street_address
from .banking import sepa_payment
from .catalog import Catalog, Tariff
from .context import WorldContext, link_both, relation
from .customer_profile import Customer
from .documents import pdf_file
from .metering import MeterFactory, Supply
from .model import Entity
from .organization import BRAND, SERVICE_EMAIL, Organization
from .portal import END_CUSTOMER_PORTAL, INSTALLER_PORTAL, Portals
from .sales import Sales
from .timeline import WORLD_NOW, add_months, at, between, office_hours

_INDUSTRIES = ("Handel", "Gastronomie", "Handwerk", "Lebensmittelhandwerk", "Dienstleistung", "Landwirtschaft")
_TERMINATION_REASONS = ("Umzug", "Anbieterwechsel", "Sonderkündigung nach Preisanpassung")
_BRANCH = {"power": "power", "heat_pump": "power", "gas": "gas"}
_TAG = {"power": "Strom", "heat_pump": "Wärmepumpe", "gas": "Gas"}
_SUPPLY_TEXT = {"power": "Stromlieferung", "heat_pump": "Wärmepumpenstrom", "gas": "Erdgaslieferung"}


@dataclass(frozen=True)
class PortalAccount:
    """A portal user created for a contact, before it gets its demo token."""

    user: Entity
    contact: Entity
    email: str
    display_name: str
    portal_id: str


class CustomerFactory:
    def __init__(self, ctx: WorldContext, catalog: Catalog, org: Organization, portals: Portals) -> None:
        self.ctx = ctx
        self.rng = ctx.rng
        self.catalog = catalog
        self.org = org
        self.portals = portals
        self.sales = Sales(ctx, catalog, org)
        self.meters = MeterFactory(ctx, org.staff)

    # -- one customer ---------------------------------------------------------------------------
    def customer(self, index: int) -> PortalAccount | None:
        """Generate customer number ``index`` (0 is the demo customer with the richest data)."""
        rng = self.rng
        demo = index == 0
        customer = self._contact(index, business=not demo and rng.random() < 0.08)
        account = billing.billing_account(self.ctx, customer)
        kinds = ["power", "gas"] if demo else self._contract_kinds()
        solar = demo or ("power" in kinds and rng.random() < 0.15)
        open_amount = 0
        for n, kind in enumerate(kinds):
            open_amount += self._contract(customer, account, kind, n, solar=solar and n == 0, demo=demo)
        billing.set_balance(account, open_amount)
        if solar:
            self._solar_purchase(customer)
        if demo:
            self._lead(customer, "wallbox")
        elif rng.random() < 0.12:
            self._lead(customer, rng.choice(("solar", "wallbox", "heat_pump")))
        count = 1 if demo else rng.choices((0, 1, 2), (55, 35, 10))[0]
        support.tickets(self.ctx, self.org, customer, count)
        if demo or rng.random() < 0.5:
            return self._portal_user(customer.contact, customer.email, customer.since, self.portals.end_customer_id)
        return None

    def _contract_kinds(self) -> list[str]:
        rng = self.rng
        kinds = ["power" if rng.random() < 0.9 else "gas"]
        count = rng.choices((1, 2, 3), (55, 35, 10))[0]
        if count >= 2:
            kinds.append("gas" if kinds[0] == "power" and rng.random() < 0.7 else "heat_pump")
        if count == 3:
            kinds.append("heat_pump" if "heat_pump" not in kinds else "power")
        return kinds

    def _contact(self, index: int, business: bool) -> Customer:
        ctx, rng, faker = self.ctx, self.rng, self.ctx.faker
        female = rng.random() < 0.5
        first = faker.first_name_female() if female else faker.first_name_male()
        last = faker.last_name()
        city = pick_city(rng)
        if index == 0:
            since = date(2020, 1, 1) + timedelta(days=rng.randint(0, 900))
        else:
            since = date(2015, 1, 1) + timedelta(days=rng.randint(0, 4230))
        email = ctx.unique_email(f"{ascii_slug(first).replace('.', '-')}.{ascii_slug(last).replace('.', '-')}",
                                 rng.choice(("example.de", "example.com", "example.org", "example.net")))
        phone = mobile(rng)
        address = street_address(rng, city, ["Primary"], item_id=short_id(rng))
        address["_primary"] = True
        number = ctx.next_number("customer", 100001)
        payment = sepa_payment(rng, f"{first} {last}", since, f"SWM-{number}-01", item_id=short_id(rng))
        phones = [{"_id": short_id(rng), "phone": phone, "_tags": ["Mobil"], "_primary": True}]
        if rng.random() < 0.4:
            phones.append({"_id": short_id(rng), "phone": landline(rng, city), "_tags": ["Festnetz"]})
        attributes: dict[str, Any] = {"salutation": "Frau" if female else "Herr"}
        if rng.random() < 0.05:
            attributes["title"] = "Dr."
        created = office_hours(rng, since)
        consent = rng.random() < 0.4
        attributes.update({
            "first_name": first, "last_name": last,
            "birthdate": (date(1940, 1, 1) + timedelta(days=rng.randint(0, 23000))).isoformat(),
            "email": [{"_id": short_id(rng), "email": email, "_primary": True, "_tags": ["Primary"]}],
            "phone": phones, "address": [address], "customer_number": f"K-{number}", "payment": [payment],
            "consent_email_marketing": {"status": "active" if consent else "inactive", "identifiers": [email],
                                        "updated_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
            "preferred_language": "de",
        })
        contact = ctx.entity("contact", f"{first} {last}", created, between(rng, created, WORLD_NOW),
                             ["Gewerbekunde" if business else "Privatkunde"], **attributes)
        customer = Customer(index, contact, first, last, email, phone, address, city, payment, since)
        if business:
            name = faker.company()
            customer.account = ctx.entity(
                "account", name, created, between(rng, created, WORLD_NOW), ["Gewerbekunde"], name=name,
                tax_id=f"DE{rng.randint(10 ** 8, 10 ** 9 - 1)}", registration_number=f"HRB {rng.randint(1000, 99999)}",
                industry=rng.choice(_INDUSTRIES),
                email=[{"email": ctx.unique_email("info", f"{ascii_slug(name).replace('.', '-')}.example.de"),
                        "_tags": ["Primary"]}],
                phone=[{"phone": landline(rng, city), "_tags": ["Primary"]}],
                address=[customer.address_copy(["Primary"])], customer_number=f"G-{number}")
            link_both(customer.account, "contacts", contact, "account")
        return customer

    # -- contracts ------------------------------------------------------------------------------
    def _supply(self, kind: str, business: bool, solar: bool) -> Supply:
        rng = self.rng
        if kind == "gas":
            return Supply("gas", rng.randint(25_000, 60_000) if business else rng.randint(8_000, 22_000))
        if kind == "heat_pump":
            return Supply("heat_pump", rng.randint(3_000, 7_500), high_tariff_share=rng.uniform(0.6, 0.7))
        annual = rng.randint(6_000, 20_000) if business else rng.randint(2_000, 4_500)
        dual = rng.random() < 0.1
        return Supply("power", annual, high_tariff_share=rng.uniform(0.65, 0.75) if dual else None,
                      feed_in_kwh=rng.randint(3_500, 8_000) if solar else None)

    def _tariff(self, kind: str) -> Tariff:
        options = self.catalog.tariffs[kind]
        if kind == "power" and len(options) > 2:
            choice = self.rng.choices(("flex", "fix", "regional"), (55, 30, 15))[0]
            return options[0] if choice == "flex" else options[1] if choice == "fix" else self.rng.choice(options[2:])
        if kind == "power":
            return options[0] if self.rng.random() < 0.65 else options[1]
        if len(options) > 1 and self.rng.random() < 0.25:
            return self.rng.choice(options[1:])
        return options[0]

    def _contract(self, customer: Customer, account: Entity, kind: str, n: int, solar: bool, demo: bool) -> int:
        """Create one supply contract with everything that hangs off it; returns its open amount."""
        ctx, rng = self.ctx, self.rng
        now = WORLD_NOW.date()
        first_start = add_months(customer.since.replace(day=1), 1) if customer.since.day > 1 else customer.since
        first_start = min(first_start, add_months(now.replace(day=1), -1))
        end: date | None = None
        status = "active"
        if not demo and rng.random() < 0.03:
            start = add_months(now.replace(day=1), rng.choice((1, 2)))
            status = "approved"
        else:
            if n == 0:
                start = first_start
            else:
                months = max(0, (now.year - first_start.year) * 12 + now.month - first_start.month - 1)
                start = add_months(first_start, rng.randint(0, months))
            if not demo and rng.random() < 0.08 and start <= add_months(now, -8):
                earliest = max(add_months(start, 6), add_months(now.replace(day=1), -20))
                span = max(0, (now.year - earliest.year) * 12 + now.month - earliest.month - 1)
                end = add_months(add_months(earliest, rng.randint(0, span)).replace(day=1), 1) - timedelta(days=1)
                status = "terminated"
        tariff = self._tariff(kind)
        supply = self._supply(kind, customer.account is not None, solar)
        ordered = min(office_hours(rng, start - timedelta(days=rng.randint(14, 45))), WORLD_NOW - timedelta(days=1))
        order, yearly = self.sales.tariff_order(customer, tariff, supply, ordered,
                                                "placed" if status == "approved" else "completed",
                                                via_journey=rng.random() < 0.7, start=at(start))
        installment = -(-yearly // 1200) * 100  # whole euros, rounded up
        due_day = rng.choice((1, 5, 10, 15, 20, 28))
        number = str(ctx.next_number("contract", 700_000_001))
        delivery = customer.address
        if n == 2 and kind == "power":
            delivery = street_address(rng, customer.city, ["delivery"])
        attributes: dict[str, Any] = {
            "contract_name": tariff.name, "contract_number": number, "status": status,
            "description": f"{_SUPPLY_TEXT[kind]} für {one_line(delivery)}",
            "account_number": account["billing_account_number"], "branch": _BRANCH[kind],
            "billing_address": one_line(customer.address), "delivery_address": one_line(delivery),
            "start_date": start.isoformat(),
        }
        if end is not None:
            attributes.update(end_date=end.isoformat(), termination_date=end.isoformat(),
                              termination_reason=rng.choice(_TERMINATION_REASONS))
        attributes.update({
            "billing_period": "monthly", "billing_duration_amount": 12, "renewal_duration_amount": 12,
            "renewal_duration_unit": "months", "notice_time_amount": 1, "notice_time_unit": "months",
            "billing_due_day": due_day, "installment_amount": installment, "balance": 0, "balance_currency": "EUR",
            "order": relation(order),
        })
        signed = min(ordered + timedelta(days=1), WORLD_NOW)
        contract = ctx.entity("contract", tariff.name, signed, between(rng, signed, WORLD_NOW), [_TAG[kind]],
                              **attributes)
        link_both(customer.contact, "contracts", contract, "customer")
        link_both(account, "contracts", contract, "billing_account")
        customer.contracts.append(contract)
        location = {k: v for k, v in delivery.items() if k not in ("_id", "_primary")}
        self.meters.meter(supply, contract, customer.contact, location, start, end,
                          "inactive" if status == "terminated" else "active")
        unpaid = 0
        if status == "active" and not demo and rng.random() < 0.06:
            unpaid = rng.choice((1, 1, 2))
        open_amount = billing.installments(ctx, account, contract, start, end, due_day, installment, unpaid)
        settled_2025 = start <= date(2025, 6, 30) and (end is None or end >= date(2025, 12, 31))
        if settled_2025 and rng.random() < 0.25:
            billing.reimbursement(ctx, account, contract, 2025)
        contract["balance"] = open_amount
        self._documents(customer, contract, signed, settled_2025)
        return open_amount

    def _documents(self, customer: Customer, contract: Entity, signed: datetime, settled_2025: bool) -> None:
        ctx, rng = self.ctx, self.rng
        number = contract["contract_number"]
        attached = [contract, customer.contact]
        pdf = pdf_file(ctx, f"Vertrag_{number}.pdf", signed, signed, ["Vertrag"], attached)
        if settled_2025:
            billed = office_hours(rng, date(2026, 2, rng.randint(2, 27)))
            invoice = pdf_file(ctx, f"Jahresabrechnung_2025_{number}.pdf", billed, billed, ["Rechnung"], attached)
            invoice["is_new"] = rng.random() < 0.3
        sent = min(signed + timedelta(hours=rng.randint(1, 30)), WORLD_NOW)
        subject = f"Ihre Vertragsbestätigung {number}"
        text = (f"Guten Tag {customer.name}, vielen Dank für Ihren Auftrag. Ihr Vertrag {contract['contract_name']} "
                f"beginnt am {date.fromisoformat(contract['start_date']).strftime('%d.%m.%Y')}.")
        ctx.entity("message", subject, sent, sent, ["Vertrag"], subject=subject,
                   **{"from": {"name": BRAND, "address": SERVICE_EMAIL, "email_type": "FROM"}},
                   to=[{"name": customer.name, "address": customer.email, "send_status": "DELIVERY",
                        "email_type": "TO"}],
                   html=f"<p>{text}</p>", text=text, type="SENT", sent_at=sent.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                   thread_id=ctx.uuid(), attachments=relation(pdf), context=relation(customer.contact, contract))

    # -- sales ----------------------------------------------------------------------------------
    def _solar_purchase(self, customer: Customer) -> None:
        """The PV installation a solar customer bought: a closed opportunity with a completed order."""
        start = max(customer.since, date(2021, 1, 4))
        asked = between(self.rng, at(start, 8), WORLD_NOW - timedelta(days=200))
        opportunity = self.sales.opportunity(customer, "solar", asked, "closed")
        order = self.sales.hardware_order(customer, "solar", asked + timedelta(days=self.rng.randint(5, 40)),
                                          "completed")
        link_both(opportunity, "orders", order, "opportunities")

    def _lead(self, customer: Customer, kind: str) -> None:
        """A recent inquiry; solar and wallbox inquiries come with a quote."""
        asked = between(self.rng, WORLD_NOW - timedelta(days=90), WORLD_NOW - timedelta(days=2))
        status = self.rng.choices(("open", "in_progress", "cancelled"), (50, 35, 15))[0]
        opportunity = self.sales.opportunity(customer, kind, asked, status)
        if kind in ("solar", "wallbox") and status != "cancelled":
            order = self.sales.hardware_order(customer, kind, asked + timedelta(days=1), "quote")
            link_both(opportunity, "orders", order, "opportunities")

    # -- portal users ---------------------------------------------------------------------------
    def _portal_user(self, contact: Entity, email: str, since: date, portal_id: str) -> PortalAccount:
        ctx, rng = self.ctx, self.rng
        registered = between(rng, at(max(since, date(2022, 5, 2)), 7), WORLD_NOW - timedelta(days=3))
        user = ctx.entity(
            "portal_user", email, registered, between(rng, registered, WORLD_NOW), ["Portal"], email=email,
            first_name=contact["first_name"], last_name=contact["last_name"], registration_status="Registered",
            access_status=True, portal_id=portal_id,
            origin=END_CUSTOMER_PORTAL if portal_id == self.portals.end_customer_id else INSTALLER_PORTAL,
            last_login=between(rng, registered, WORLD_NOW).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            preferred_language="de", contact=relation(contact))
        return PortalAccount(user, contact, email, f"{contact['first_name']} {contact['last_name']}", portal_id)

    def installer(self, partner: Entity) -> PortalAccount:
        """A person working for ``partner`` with a login to the installer portal."""
        ctx, rng, faker = self.ctx, self.rng, self.ctx.faker
        female = rng.random() < 0.5
        first = faker.first_name_female() if female else faker.first_name_male()
        last = faker.last_name()
        domain = partner["email"][0]["email"].split("@", 1)[1]
        email = ctx.unique_email(f"{ascii_slug(first).replace('.', '-')}.{ascii_slug(last).replace('.', '-')}",
                                 domain)
        created = between(rng, at(date(2023, 3, 1), 8), WORLD_NOW - timedelta(days=30))
        contact = ctx.entity(
            "contact", f"{first} {last}", created, between(rng, created, WORLD_NOW), ["Partner", partner["name"]],
            salutation="Frau" if female else "Herr", first_name=first, last_name=last,
            email=[{"_id": short_id(rng), "email": email, "_primary": True, "_tags": ["Primary"]}],
            phone=[{"_id": short_id(rng), "phone": partner["phone"][0]["phone"], "_tags": ["Geschäftlich"]}],
            address=[dict(partner["address"][0], _tags=["Geschäftlich"])], preferred_language="de")
        return self._portal_user(contact, email, created.date(), self.portals.installer_id)
