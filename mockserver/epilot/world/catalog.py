"""The product catalog of an energy supplier: taxes, tariffs, hardware, their prices and coupons.

Catalog entities are shared: every customer's orders reference them. Prices are tax-inclusive
gross amounts (German consumer prices); amounts in entities are cents, ``*_decimal`` major units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from .addresses import CITIES
from .context import WorldContext, link, relation
from .model import Entity
from .money import HUNDRED, major
from .sizes import CORE_PRODUCTS
from .timeline import at, between


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None
    unit_gross: Decimal = Decimal(0)  # major units per unit (volume and graduated tiers)
    flat_fee: Decimal = Decimal(0)  # major units (flat fee tiers)


@dataclass
class CatalogPrice:
    """A price entity, its product, and the part it plays in an order (line items take the amounts,
    tiers and taxes from the entity)."""

    entity: Entity
    product: Entity
    role: str  # base, energy, energy_ht, energy_nt, hardware, service, composite
    components: tuple[CatalogPrice, ...] = ()

    @property
    def id(self) -> str:
        return self.entity["_id"]


@dataclass
class Tariff:
    """A supply product and the prices an order line-items it with."""

    kind: str  # power, gas, heat_pump, district_heating
    product: Entity
    prices: list[CatalogPrice]

    @property
    def name(self) -> str:
        return self.product["name"]


@dataclass
class Catalog:
    taxes: dict[str, Entity]
    tariffs: dict[str, list[Tariff]]
    hardware: dict[str, CatalogPrice]
    coupons: dict[str, Entity]
    products: list[Entity]
    _snapshots: dict[str, bytes] = field(default_factory=dict, repr=False)

    def snapshot(self, entity: Entity) -> dict[str, Any]:
        """A fresh copy of a catalog entity, as line items embed it."""
        raw = self._snapshots.get(entity["_id"])
        if raw is None:
            raw = self._snapshots[entity["_id"]] = orjson.dumps(entity)
        return orjson.loads(raw)

    def entities(self) -> list[Entity]:
        """Every catalog entity: taxes, products, prices (composite prices' components too), coupons."""
        prices: dict[str, Entity] = {}
        every = [p for kind in self.tariffs.values() for t in kind for p in t.prices] + list(self.hardware.values())
        for price in every:
            for part in (price, *price.components):
                prices.setdefault(part.id, part.entity)
        return [*self.taxes.values(), *self.products, *prices.values(), *self.coupons.values()]

    def set_promo_uses(self, uses: int) -> None:
        """Record how often the WILLKOMMEN code was redeemed on the generated orders."""
        self.coupons["promo"]["promo_codes"][0]["uses"] = uses


_TARIFF_TERMS = {
    "billing_duration_amount": 12, "billing_duration_unit": "months",
    "notice_time_amount": 1, "notice_time_unit": "months",
    "renewal_duration_amount": 12, "renewal_duration_unit": "months",
}


class _CatalogBuilder:
    def __init__(self, ctx: WorldContext) -> None:
        self.ctx = ctx
        self.rng = ctx.rng
        self.products: list[Entity] = []
        self.taxes: dict[str, Entity] = {}

    def created(self) -> tuple[datetime, datetime]:
        created = between(self.rng, at(date(2023, 1, 9), 8), at(date(2024, 6, 28), 17))
        updated = between(self.rng, created, at(date(2026, 9, 30), 17))
        return created, updated

    def tax(self, rate: str, description: str) -> Entity:
        created, updated = self.created()
        tax = self.ctx.entity("tax", f"MwSt. {rate} %", created, updated, ["MwSt"], type="VAT", rate=rate,
                              description=description, active=True, region="DE")
        self.taxes[rate] = tax
        return tax

    def product(self, name: str, code: str, kind: str, categories: list[str], description: str,
                features: list[str], tags: list[str]) -> Entity:
        created, updated = self.created()
        product = self.ctx.entity(
            "product", name, created, updated, tags, name=name, code=code, type=kind, active=True,
            description=description, internal_description=f"Katalog 2026, {categories[0]}", categories=categories,
            feature=[{"feature": f} for f in features], price_options={"$relation": []},
        )
        self.products.append(product)
        return product

    def price(self, product: Entity, description: str, *, role: str, rate: str, recurring: str | None,
              unit: str, model: str = "per_unit", unit_gross: str | None = None, tiers: tuple[Tier, ...] = (),
              variable: bool = False, option: bool = True) -> CatalogPrice:
        """A price of ``product``; ``recurring`` is the billing period, None for one-time prices."""
        tax = self.taxes[rate]
        attributes: dict[str, Any] = {"active": True, "description": description,
                                      "type": "recurring" if recurring else "one_time"}
        if recurring:
            attributes["billing_period"] = recurring
        gross = Decimal(unit_gross) if unit_gross is not None else Decimal(0)
        if unit_gross is not None:
            amount = gross * HUNDRED
            attributes["unit_amount"] = int(amount) if amount == amount.to_integral_value() else float(amount)
            attributes["unit_amount_decimal"] = major(amount)
        attributes.update({
            "unit_amount_currency": "EUR", "unit": unit, "is_tax_inclusive": True,
            "sales_tax": "standard" if rate == "19" else "reduced", "tax": relation(tax), "pricing_model": model,
        })
        if variable:
            attributes["variable_price"] = True
        if tiers:
            attributes["tiers"] = [_tier_json(t, model) for t in tiers]
        attributes["is_composite_price"] = False
        attributes["price_display_in_journeys"] = "show_as_starting_price" if tiers else "show_price"
        if recurring:
            attributes.update(_TARIFF_TERMS)
        created, updated = self.created()
        entity = self.ctx.entity("price", description, created, updated, [product["name"]], **attributes)
        if option:
            link(product, "price_options", entity)
        return CatalogPrice(entity, product, role)

    def composite(self, product: Entity, description: str, parts: list[CatalogPrice]) -> CatalogPrice:
        created, updated = self.created()
        entity = self.ctx.entity(
            "price", description, created, updated, [product["name"], "Composite"], active=True,
            description=description, type="recurring", billing_period="monthly", unit_amount_currency="EUR",
            is_tax_inclusive=True, pricing_model="per_unit", is_composite_price=True,
            price_components=relation(*(p.entity for p in parts)), price_display_in_journeys="show_price",
            **_TARIFF_TERMS,
        )
        link(product, "price_options", entity)
        return CatalogPrice(entity, product, "composite", components=tuple(parts))

    def supply(self, kind: str, name: str, code: str, categories: list[str], description: str,
               features: list[str], tags: list[str], base: str, energy: str, rate: str = "19") -> Tariff:
        product = self.product(name, code, "service", categories, description, features, tags)
        prices = [
            self.price(product, f"Grundpreis {name}", role="base", rate=rate, recurring="monthly", unit="month",
                       unit_gross=base),
            self.price(product, f"Arbeitspreis {name}", role="energy", rate=rate, recurring="yearly", unit="kwh",
                       unit_gross=energy, variable=True),
        ]
        return Tariff(kind, product, prices)


def _tier_json(tier: Tier, model: str) -> dict[str, Any]:
    out: dict[str, Any] = {"up_to": float(tier.up_to) if tier.up_to is not None else None}
    if model == "tiered_flatfee":
        out["flat_fee_amount"] = int(tier.flat_fee * HUNDRED)
        out["flat_fee_amount_decimal"] = major(tier.flat_fee * HUNDRED)
    else:
        amount = tier.unit_gross * HUNDRED
        out["unit_amount"] = float(amount)
        out["unit_amount_decimal"] = major(amount)
    return out


def build_catalog(ctx: WorldContext, products: int) -> Catalog:
    """The catalog with ``products`` products: the core tariffs and hardware plus regional tariffs."""
    b = _CatalogBuilder(ctx)
    b.tax("19", "Umsatzsteuer (Regelsatz)")
    b.tax("7", "Umsatzsteuer (ermäßigt)")
    tariffs: dict[str, list[Tariff]] = {"power": [], "gas": [], "heat_pump": [], "district_heating": []}

    # Ökostrom Flex: one composite price of base and energy price.
    flex = b.product("Ökostrom Flex", "STROM-FLEX-26", "service", ["power"],
                     "100 % Ökostrom aus deutscher Wasserkraft, monatlich kündbar.",
                     ["100 % Ökostrom", "Monatlich kündbar", "12 Monate Preisgarantie"], ["Strom", "Privatkunden"])
    flex_parts = [
        b.price(flex, "Grundpreis Ökostrom Flex", role="base", rate="19", recurring="monthly", unit="month",
                unit_gross="12.90", option=False),
        b.price(flex, "Arbeitspreis Ökostrom Flex", role="energy", rate="19", recurring="yearly", unit="kwh",
                unit_gross="0.3249", variable=True, option=False),
    ]
    tariffs["power"].append(Tariff("power", flex, [b.composite(flex, "Ökostrom Flex", flex_parts)]))

    # Ökostrom Fix 24: energy price in volume tiers by yearly consumption.
    fix = b.product("Ökostrom Fix 24", "STROM-FIX-24", "service", ["power"],
                    "Ökostrom mit 24 Monaten Preisgarantie; je mehr Verbrauch, desto günstiger die Kilowattstunde.",
                    ["24 Monate Preisgarantie", "Staffelpreis nach Jahresverbrauch"], ["Strom", "Privatkunden"])
    tariffs["power"].append(Tariff("power", fix, [
        b.price(fix, "Grundpreis Ökostrom Fix 24", role="base", rate="19", recurring="monthly", unit="month",
                unit_gross="13.90"),
        b.price(fix, "Arbeitspreis Ökostrom Fix 24", role="energy", rate="19", recurring="yearly", unit="kwh",
                model="tiered_volume", variable=True,
                tiers=(Tier(Decimal(2500), Decimal("0.3419")), Tier(Decimal(5000), Decimal("0.3249")),
                       Tier(None, Decimal("0.3099")))),
    ]))

    tariffs["gas"].append(b.supply("gas", "Erdgas Klima", "GAS-KLIMA-26", ["gas"],
                                   "Erdgas mit CO2-Ausgleich über zertifizierte Klimaschutzprojekte.",
                                   ["CO2-kompensiert", "12 Monate Preisgarantie"], ["Gas", "Privatkunden"],
                                   base="14.90", energy="0.1129"))

    heat = b.product("Wärmepumpenstrom", "STROM-WP-26", "service", ["power", "heat_pump"],
                     "Günstiger Strom für Wärmepumpen mit getrennter Messung in Hoch- und Niedertarif.",
                     ["Separater Zähler", "HT/NT-Tarif", "Steuerbare Verbrauchseinrichtung nach § 14a EnWG"],
                     ["Strom", "Wärmepumpe"])
    tariffs["heat_pump"].append(Tariff("heat_pump", heat, [
        b.price(heat, "Grundpreis Wärmepumpenstrom", role="base", rate="19", recurring="monthly", unit="month",
                unit_gross="9.90"),
        b.price(heat, "Arbeitspreis HT Wärmepumpenstrom", role="energy_ht", rate="19", recurring="yearly",
                unit="kwh", unit_gross="0.2849", variable=True),
        b.price(heat, "Arbeitspreis NT Wärmepumpenstrom", role="energy_nt", rate="19", recurring="yearly",
                unit="kwh", unit_gross="0.2299", variable=True),
    ]))

    # District heating at the reduced rate: graduated tiers by yearly consumption.
    heating = b.product("Fernwärme Komfort", "WAERME-KOMFORT", "service", ["district_heating"],
                        "Fernwärme aus Kraft-Wärme-Kopplung für Mehrfamilienhäuser.",
                        ["Kein eigener Heizkessel nötig", "Wartung inklusive"], ["Wärme"])
    tariffs["district_heating"].append(Tariff("district_heating", heating, [
        b.price(heating, "Grundpreis Fernwärme Komfort", role="base", rate="7", recurring="monthly", unit="month",
                unit_gross="19.90"),
        b.price(heating, "Arbeitspreis Fernwärme Komfort", role="energy", rate="7", recurring="yearly", unit="kwh",
                model="tiered_graduated", variable=True,
                tiers=(Tier(Decimal(10000), Decimal("0.1350")), Tier(None, Decimal("0.1190")))),
    ]))

    hardware: dict[str, CatalogPrice] = {}
    pv = b.product("Photovoltaik-Anlage 10 kWp", "PV-10KWP", "product", ["solar"],
                   "Schlüsselfertige PV-Anlage mit 24 Modulen à 420 Wp inklusive Wechselrichter und Montage.",
                   ["24 Module à 420 Wp", "Hybrid-Wechselrichter", "Montage und Anmeldung inklusive"], ["Solar"])
    hardware["pv"] = b.price(pv, "Photovoltaik-Anlage 10 kWp", role="hardware", rate="19", recurring=None,
                             unit="piece", unit_gross="16990.00")
    battery = b.product("Stromspeicher 10 kWh", "SPEICHER-10", "product", ["solar", "storage"],
                        "Lithium-Eisenphosphat-Speicher für mehr Eigenverbrauch.",
                        ["10 kWh nutzbare Kapazität", "10 Jahre Garantie"], ["Solar"])
    hardware["battery"] = b.price(battery, "Stromspeicher 10 kWh", role="hardware", rate="19", recurring=None,
                                  unit="piece", unit_gross="7490.00")
    wallbox = b.product("Wallbox 11 kW", "WALLBOX-11", "product", ["e_mobility"],
                        "Wallbox mit 11 kW Ladeleistung, Typ-2-Kabel und App-Steuerung.",
                        ["11 kW Ladeleistung", "Förderfähig", "Lastmanagement"], ["E-Mobilität"])
    hardware["wallbox"] = b.price(wallbox, "Wallbox 11 kW", role="hardware", rate="19", recurring=None,
                                  unit="piece", unit_gross="1149.00")
    install = b.product("Wallbox-Installation", "WALLBOX-INST", "service", ["e_mobility"],
                        "Installation durch einen Partnerbetrieb; der Preis richtet sich nach der Kabellänge.",
                        ["Installation durch Elektrofachbetrieb", "Inbetriebnahme und Einweisung"], ["E-Mobilität"])
    hardware["wallbox_installation"] = b.price(
        install, "Installation nach Kabellänge", role="service", rate="19", recurring=None, unit="m",
        model="tiered_flatfee",
        tiers=(Tier(Decimal(10), flat_fee=Decimal("590.00")), Tier(Decimal(25), flat_fee=Decimal("890.00")),
               Tier(None, flat_fee=Decimal("1290.00"))))

    for n in range(products - CORE_PRODUCTS):
        city = CITIES[n // 2 % len(CITIES)]
        suffix = f" {n // (2 * len(CITIES)) + 1}" if n >= 2 * len(CITIES) else ""
        if n % 2 == 0:
            base = f"{Decimal('11.50') + Decimal(ctx.rng.randint(0, 30)) / 10:.2f}"
            energy = f"{Decimal('0.2990') + Decimal(ctx.rng.randint(0, 400)) / 10000:.4f}"
            tariffs["power"].append(b.supply(
                "power", f"Ökostrom Regional {city.name}{suffix}", f"STROM-REG-{n + 1:03d}", ["power"],
                f"Ökostrom aus Anlagen in der Region {city.name}.", ["Regionale Erzeugung", "Monatlich kündbar"],
                ["Strom", "Regional"], base=base, energy=energy))
        else:
            base = f"{Decimal('13.50') + Decimal(ctx.rng.randint(0, 30)) / 10:.2f}"
            energy = f"{Decimal('0.0990') + Decimal(ctx.rng.randint(0, 300)) / 10000:.4f}"
            tariffs["gas"].append(b.supply(
                "gas", f"Erdgas Regional {city.name}{suffix}", f"GAS-REG-{n + 1:03d}", ["gas"],
                f"Erdgas für die Region {city.name}.", ["12 Monate Preisgarantie"], ["Gas", "Regional"],
                base=base, energy=energy))

    coupons = _coupons(b, tariffs, hardware)
    return Catalog(b.taxes, tariffs, hardware, coupons, b.products)


def _coupons(b: _CatalogBuilder, tariffs: dict[str, list[Tariff]], hardware: dict[str, CatalogPrice]
             ) -> dict[str, Entity]:
    tariff_prices = [p.entity for kind in ("power", "gas") for t in tariffs[kind][:2] for p in t.prices]
    created, updated = b.created()
    discount = b.ctx.entity(
        "coupon", "10 % Rabatt auf Solar und Wallbox", created, updated, ["Rabatt"],
        name="10 % Rabatt auf Solar und Wallbox", description="10 % Rabatt auf PV-Anlagen, Speicher und Wallboxen.",
        type="percentage", category="discount", percentage_value="10", active=True, requires_promo_code=False,
        prices=relation(*(p.entity for p in hardware.values() if p.role == "hardware")))
    created, updated = b.created()
    cashback = b.ctx.entity(
        "coupon", "Wechselbonus 50 €", created, updated, ["Bonus"], name="Wechselbonus 50 €",
        description="50 € Bonus nach 12 Monaten Belieferung.", type="fixed", category="cashback",
        fixed_value=5000, fixed_value_decimal="50.00", fixed_value_currency="EUR", cashback_period="12",
        active=True, requires_promo_code=False, prices=relation(*tariff_prices))
    created, updated = b.created()
    promo = b.ctx.entity(
        "coupon", "Willkommensbonus", created, updated, ["Bonus", "Promo"], name="Willkommensbonus",
        description="25 € Willkommensbonus mit dem Code WILLKOMMEN, sofort mit der ersten Abrechnung.",
        type="fixed", category="cashback", fixed_value=2500, fixed_value_decimal="25.00", fixed_value_currency="EUR",
        cashback_period="0", active=True, requires_promo_code=True,
        promo_codes=[{"_id": b.ctx.uuid(), "code": "WILLKOMMEN", "uses": 0, "has_usage_limit": True,
                      "usage_limit": 10000}],
        prices=relation(*tariff_prices))
    return {"discount": discount, "cashback": cashback, "promo": promo}
