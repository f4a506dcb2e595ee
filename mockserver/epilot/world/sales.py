"""Orders (supply contracts and hardware), opportunities and the journey submissions behind them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .catalog import Catalog, Tariff
from .context import WorldContext, link_both, relation
from .customer_profile import Customer
from .line_items import LineItems, PricedCarts, yearly_total
from .metering import Supply
from .model import Entity
from .organization import Organization
from .timeline import WORLD_NOW, between, iso

# kind -> (journey key, title, description)
OPPORTUNITY_KINDS = {
    "solar": ("solar", "PV-Anlage Einfamilienhaus", "Anfrage über die Journey 'Photovoltaik-Angebot'."),
    "wallbox": ("wallbox", "Wallbox für Elektroauto", "Anfrage über die Journey 'Wallbox-Anfrage'."),
    "heat_pump": ("heat_pump", "Wärmepumpe und Wärmepumpenstrom", "Beratungswunsch zum Heizungstausch."),
}


class Sales:
    def __init__(self, ctx: WorldContext, catalog: Catalog, org: Organization) -> None:
        self.ctx = ctx
        self.catalog = catalog
        self.org = org
        self.products = {p["_id"]: p for p in catalog.products}
        self.promo_uses = 0
        self.carts = PricedCarts(catalog)

    def tariff_order(self, customer: Customer, tariff: Tariff, supply: Supply, created: datetime, status: str,
                     via_journey: bool, start: datetime) -> tuple[Entity, int]:
        """The order a supply contract was created from, and its yearly gross cost in cents."""
        items = LineItems(self.catalog, self.carts)
        # Ordered at the consumption the customer estimated in the journey: the yearly kWh in
        # hundreds (the meters then measure what they really use). Equal estimates make equal carts.
        estimate = max(100, round(supply.annual_kwh, -2))
        share = supply.high_tariff_share
        consumption = {"energy": estimate}
        if share is not None:
            high = int(round(estimate * share, -2))
            consumption.update(energy_ht=high, energy_nt=estimate - high)
        first = None
        for price in tariff.prices:
            if price.components:
                mappings = {c.id: consumption[c.role] for c in price.components if c.role in consumption}
                item = items.add_composite(price, mappings)
            elif price.role in consumption:
                item = items.add(price, 1, consumption[price.role])
            else:
                item = items.add(price, 1)
            first = first or item
        rng = self.ctx.rng
        extra: dict[str, Any] = {"dates": [{"_tags": ["Lieferbeginn"], "dates": "", "value": iso(start)}]}
        roll = rng.random()
        promo = roll < 0.1
        coupon = self.catalog.coupons["promo" if promo else "cashback"]
        if first is not None and roll < 0.25 and first["price_id"] in _price_ids(coupon):
            items.apply_coupon(first, coupon)
            if promo:
                self.promo_uses += 1
                items.redeem("WILLKOMMEN", coupon)
        journey = self.org.journeys.get(tariff.kind) if via_journey else None
        order = self.order(customer, items, created, status, journey, extra)
        if journey is not None:
            self.submission(customer, journey, created, order, {
                "postal_code": customer.address["postal_code"], "consumption_kwh": estimate,
                "product": tariff.name})
        return order, yearly_total(order)

    def hardware_order(self, customer: Customer, kind: str, created: datetime, status: str) -> Entity:
        items = LineItems(self.catalog, self.carts)
        hardware = self.catalog.hardware
        if kind == "solar":
            items.add(hardware["pv"])
            if self.ctx.rng.random() < 0.6:
                items.add(hardware["battery"])
        else:
            items.add(hardware["wallbox"])
            items.add(hardware["wallbox_installation"], 1, self.ctx.rng.choice((6, 8, 12, 18, 30)),
                      frequency_unit="one_time")
        extra: dict[str, Any] = {}
        if status == "quote":
            extra["expires_at"] = iso(min(created + timedelta(days=30), WORLD_NOW + timedelta(days=30)))
        return self.order(customer, items, created, status, self.org.journeys[kind], extra)

    def order(self, customer: Customer, items: LineItems, created: datetime, status: str,
              journey: Entity | None, extra: dict[str, Any]) -> Entity:
        ctx = self.ctx
        number = f"OR {created.year}/{ctx.next_number('order', 742001)}"
        if journey is not None:
            source = {"title": journey["name"], "href": journey["journey_url"]}
        else:
            source = {"title": "manual", "href": None}
        products: dict[str, Entity] = {}
        for line in items.lines:
            products.setdefault(line["product_id"], self.products[line["product_id"]])
        amounts = items.order_amounts()
        if items.redeemed_promos:
            amounts["redeemed_promos"] = items.redeemed_promos
        attributes: dict[str, Any] = {
            "order_number": number, "status": status, "source": source,
            "source_type": "journey" if journey is not None else "manual", **amounts,
            "billing_contact": relation(customer.contact),
            "billing_first_name": customer.first_name, "billing_last_name": customer.last_name,
            "billing_email": customer.email, "billing_phone": customer.phone,
            "billing_address": [customer.address_copy(["billing"])],
            "delivery_address": [customer.address_copy(["delivery"])],
            "payment_method": [{k: v for k, v in customer.payment.items() if k != "_id"}],
            "products": relation(*products.values()),
            **extra,
        }
        if customer.company:
            attributes["billing_company_name"] = customer.company
        order = ctx.entity("order", number, created, between(ctx.rng, created, min(created + timedelta(days=60),
                                                                                     WORLD_NOW)),
                           [status.title()], **attributes)
        link_both(customer.contact, "orders", order, "customer")
        return order

    def opportunity(self, customer: Customer, kind: str, created: datetime, status: str) -> Entity:
        ctx = self.ctx
        journey_key, title, description = OPPORTUNITY_KINDS[kind]
        journey = self.org.journeys[journey_key]
        number = f"OPP-{created.year}-{ctx.next_number('opportunity', 1001):04d}"
        wish = created + timedelta(days=ctx.rng.randint(30, 120))
        opportunity = ctx.entity(
            "opportunity", f"{number} {title}", created, between(ctx.rng, created, WORLD_NOW), [kind.title()],
            opportunity_number=number, title=title, description=description, status=status,
            source={"title": journey["name"], "href": journey["journey_url"]}, source_type="journey",
            dates=[{"_tags": ["Wunschtermin"], "dates": "", "value": iso(wish)}])
        link_both(customer.contact, "opportunities", opportunity, "customer")
        self.submission(customer, journey, created, opportunity, {
            "postal_code": customer.address["postal_code"], "interest": title,
            "roof_orientation" if kind == "solar" else "note": "Süd" if kind == "solar" else description})
        return opportunity

    def submission(self, customer: Customer, journey: Entity, created: datetime, result: Entity,
                   payload: dict[str, Any]) -> Entity:
        return self.ctx.entity(
            "submission", f"{journey['name']} {created.date().isoformat()}", created, created, ["Journey"],
            source_type="journey", source_id=journey["journey_id"],
            source={"title": journey["name"], "href": journey["journey_url"]}, status="processed",
            payload={"first_name": customer.first_name, "last_name": customer.last_name, "email": customer.email,
                     **payload},
            journey=relation(journey), entities=relation(customer.contact, result))


def _price_ids(coupon: Entity) -> set[str]:
    return {item["entity_id"] for item in coupon["prices"]["$relation"]}
