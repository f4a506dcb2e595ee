"""Organization-wide entities every customer shares: staff names, partners, journeys, campaigns,
targets, email templates, product recommendations and the catalog's documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .addresses import ascii_slug, landline, pick_city, street_address
from .catalog import Catalog
from .context import WorldContext, link, link_both, relation
from .documents import pdf_file
from .model import Entity
from .timeline import WORLD_NOW, add_months, at, between

BRAND = "Stadtwerke Musterstadt"
BRAND_DOMAIN = "stadtwerke-musterstadt.de"
SERVICE_EMAIL = f"service@{BRAND_DOMAIN}"
BRAND_ID = 5012312

_PARTNER_NAMES = (
    ("Solartechnik Rhein GmbH", "installer"), ("Elektro Schmitz & Söhne", "installer"),
    ("WärmeKonzept Bonn GmbH", "installer"), ("E-Mobil Service Köln", "installer"),
    ("Sonnenwerk Eifel GmbH", "installer"), ("EasyMeter GmbH", "oem"), ("Messdienst West GmbH", "service_provider"),
)

_JOURNEYS: dict[str, tuple[str, str]] = {
    "power": ("Stromtarif-Rechner", "Tarifrechner und Online-Abschluss für Haushaltsstrom."),
    "gas": ("Gastarif-Rechner", "Tarifrechner und Online-Abschluss für Erdgas."),
    "heat_pump": ("Wärmepumpenstrom-Rechner", "Tarifrechner für Wärmepumpenstrom mit HT/NT-Messung."),
    "solar": ("Photovoltaik-Angebot", "Anfrage für eine PV-Anlage mit Speicher."),
    "wallbox": ("Wallbox-Anfrage", "Anfrage für Wallbox und Installation."),
    "meter_reading": ("Zählerstand melden", "Zählerstand ohne Login melden."),
    "installment": ("Abschlag ändern", "Monatlichen Abschlag anpassen."),
    "move": ("Umzug melden", "Umzug melden und Vertrag mitnehmen."),
}

# EmailTemplates key -> (name, subject)
PORTAL_TEMPLATES: dict[str, tuple[str, str]] = {
    "confirmAccount": ("Registrierung bestätigen", "Bitte bestätigen Sie Ihre Registrierung"),
    "advancedAuth": ("Anmeldecode", "Ihr Anmeldecode für das Kundenportal"),
    "advancedMFA": ("Sicherheitscode", "Ihr Sicherheitscode"),
    "journeySignUp": ("Registrierung über Journey", "Willkommen im Kundenportal"),
    "journeySignInOneTimePassword": ("Einmalpasswort Journey", "Ihr Einmalpasswort"),
    "journeyLoginOTP": ("Login-Code Journey", "Ihr Login-Code"),
    "forgotPassword": ("Passwort zurücksetzen", "Passwort zurücksetzen"),
    "invitation": ("Einladung zum Kundenportal", "Ihre Einladung zum Kundenportal"),
    "partnerInvitation": ("Einladung zum Partnerportal", "Ihre Einladung zum Partnerportal"),
    "onNewQuote": ("Neues Angebot", "Ein neues Angebot liegt für Sie bereit"),
    "onMapAPendingUser": ("Zugang freigeschaltet", "Ihr Portalzugang wurde freigeschaltet"),
    "onDocUpload": ("Neues Dokument", "Ein neues Dokument liegt im Portal"),
    "onWorkflowStepAssigned": ("Neue Aufgabe", "Eine neue Aufgabe wartet auf Sie"),
    "confirmEmailUpdate": ("E-Mail-Adresse bestätigen", "Bitte bestätigen Sie Ihre neue E-Mail-Adresse"),
    "verifyCodeToSetPassword": ("Code zum Setzen des Passworts", "Ihr Code zum Setzen des Passworts"),
}
_OTHER_TEMPLATES: dict[str, tuple[str, str]] = {
    "meterReadingConfirmation": ("Bestätigung Zählerstand", "Ihr Zählerstand vom {{meter_reading.timestamp}}"),
    "contractConfirmation": ("Vertragsbestätigung", "Ihre Vertragsbestätigung {{contract.contract_number}}"),
    "installmentChange": ("Abschlagsanpassung", "Ihre Abschlagsanpassung"),
}


@dataclass
class Organization:
    staff: list[str]
    staff_ids: list[str]
    partners: list[Entity]
    journeys: dict[str, Entity]
    campaigns: list[Entity]
    email_templates: dict[str, Entity]


def _stamp(ctx: WorldContext, first: date, last: date) -> tuple[datetime, datetime]:
    created = between(ctx.rng, at(first, 7), at(last, 17))
    return created, between(ctx.rng, created, WORLD_NOW)


def build_organization(ctx: WorldContext, catalog: Catalog, partners: int, campaigns: int) -> Organization:
    staff = [f"{ctx.faker.first_name()} {ctx.faker.last_name()}" for _ in range(6)]
    staff_ids = [str(10010700 + ctx.rng.randint(0, 9999)) for _ in staff]
    org = Organization(staff, staff_ids, _partners(ctx, partners), _journeys(ctx, catalog), [],
                       _email_templates(ctx))
    org.campaigns = _campaigns(ctx, org.journeys, campaigns)
    _recommendations(ctx, catalog)
    _catalog_documents(ctx, catalog)
    return org


def _partners(ctx: WorldContext, count: int) -> list[Entity]:
    out = []
    for n in range(count):
        if n < len(_PARTNER_NAMES):
            name, kind = _PARTNER_NAMES[n]
        else:
            name, kind = f"{ctx.faker.last_name()} {ctx.rng.choice(('Elektrotechnik', 'Solar', 'Haustechnik'))}"\
                         f" {ctx.rng.choice(('GmbH', 'GmbH & Co. KG', 'e.K.'))}", "installer"
        email = f"kontakt@{ascii_slug(name).replace('.', '-')}.example.de"
        city = pick_city(ctx.rng)
        created, updated = _stamp(ctx, date(2022, 3, 1), date(2025, 12, 31))
        # The first partner is always active: it owns the installer portal's demo logins.
        status = "Active" if ctx.rng.random() < 0.85 or n == 0 else ctx.rng.choice(("Pending", "Deactivated"))
        attributes: dict[str, Any] = {
            "name": name, "partner_type": kind,
            "email": [{"email": email, "_tags": ["Primary"]}],
            "phone": [{"phone": landline(ctx.rng, city), "_tags": ["Primary"]}],
            "address": [street_address(ctx.rng, city, ["Primary"])],
            "status": status, "invitation_email": email,
        }
        if status == "Active":
            attributes["partner_org_id"] = str(ctx.rng.randint(700000, 799999))
        out.append(ctx.entity("partner", name, created, updated, [kind.replace("_", " ").title()], **attributes))
    return out


def _journeys(ctx: WorldContext, catalog: Catalog) -> dict[str, Entity]:
    offered = {
        "power": [t.product for t in catalog.tariffs["power"]],
        "gas": [t.product for t in catalog.tariffs["gas"]],
        "heat_pump": [t.product for t in catalog.tariffs["heat_pump"]],
        "solar": [catalog.hardware["pv"].product, catalog.hardware["battery"].product],
        "wallbox": [catalog.hardware["wallbox"].product, catalog.hardware["wallbox_installation"].product],
    }
    out = {}
    for key, (name, description) in _JOURNEYS.items():
        created, updated = _stamp(ctx, date(2023, 2, 1), date(2024, 10, 31))
        journey_id = ctx.uuid()
        journey = ctx.entity("journey", name, created, updated, ["Journey"], name=name, journey_id=journey_id,
                             description=description, brand_id=BRAND_ID, published=True,
                             journey_url=f"https://journey.epilot.io/?journeyId={journey_id}")
        if offered.get(key):
            journey["products"] = relation(*offered[key])
        out[key] = journey
    return out


def _campaigns(ctx: WorldContext, journeys: dict[str, Entity], count: int) -> list[Entity]:
    fixed = (
        ("Wärmepumpen-Aktion Frühjahr 2026", "Cross-Selling von Wärmepumpenstrom an Bestandskunden.",
         date(2026, 3, 1), date(2026, 5, 31), ["heat_pump"]),
        ("Photovoltaik-Sommer 2026", "PV-Anlagen und Wallboxen für Eigenheimbesitzer.",
         date(2026, 6, 1), date(2026, 12, 31), ["solar", "wallbox"]),
        ("Wechselbonus Herbst 2026", "50 € Wechselbonus für Neukunden in Strom und Gas.",
         date(2026, 9, 1), date(2027, 1, 31), ["power", "gas"]),
    )
    out = []
    now = WORLD_NOW.date()
    for n in range(count):
        if n < len(fixed):
            name, description, start, end, keys = fixed[n]
        else:
            start = add_months(date(2025, 1, 1), n - len(fixed))
            end = add_months(start, 2)
            name = f"Bestandskunden-Newsletter {start.month:02d}/{start.year}"
            description, keys = "Newsletter mit Tarif- und Energiespartipps für Bestandskunden.", []
        status = "completed" if end < now else ("active" if start <= now else "scheduled")
        created, updated = _stamp(ctx, add_months(start, -2), add_months(start, -1))
        campaign = ctx.entity("campaign", name, created, updated, ["Marketing"], name=name, description=description,
                              status=status, start_date=start.isoformat(), end_date=end.isoformat())
        for key in keys:
            link_both(campaign, "journeys", journeys[key], "campaign")
        for kind, label, goal in (("contracts", "Neuverträge", 250), ("leads", "Leads", 800))[: 1 + n % 2]:
            reached = goal if status == "completed" else (0 if status == "scheduled" else ctx.rng.randint(0, goal))
            target = ctx.entity("target", f"{label} {name}", created, updated, ["Ziel"], name=f"{label} {name}",
                                type=kind, target_value=goal, current_value=reached,
                                period="quarterly" if (end - start).days < 120 else "yearly",
                                start_date=start.isoformat(), end_date=end.isoformat())
            link_both(campaign, "targets", target, "campaign")
        out.append(campaign)
    return out


def _email_templates(ctx: WorldContext) -> dict[str, Entity]:
    out = {}
    for key, (name, subject) in {**PORTAL_TEMPLATES, **_OTHER_TEMPLATES}.items():
        created, updated = _stamp(ctx, date(2023, 2, 1), date(2024, 6, 30))
        out[key] = ctx.entity(
            "email_template", name, created, updated, ["Portal" if key in PORTAL_TEMPLATES else "Service"],
            name=name, subject=subject, **{"from": {"name": BRAND, "address": SERVICE_EMAIL}},
            to=[{"name": "{{contact.first_name}} {{contact.last_name}}", "address": "kunde@example.de"}],
            body=f"<p>Hallo {{{{contact.first_name}}}},</p><p>{subject}.</p><p>Ihre {BRAND}</p>",
            brand_id=BRAND_ID)
    return out


def _recommendations(ctx: WorldContext, catalog: Catalog) -> None:
    power, gas = catalog.tariffs["power"], catalog.tariffs["gas"]
    heat = catalog.tariffs["heat_pump"][0]
    pairs = (
        ("cross_sell", power[0], heat.product, "Kunden mit {src} den Wärmepumpenstrom-Tarif anbieten."),
        ("cross_sell", power[0], catalog.hardware["pv"].product, "Kunden mit {src} eine PV-Anlage anbieten."),
        ("up_sell", power[0], power[1].product, "Kunden mit {src} die Preisgarantie von Ökostrom Fix 24 anbieten."),
        ("change", gas[0], heat.product, "Kunden mit {src} beim Heizungstausch auf Wärmepumpenstrom umstellen."),
    )
    for kind, source, offer, text in pairs:
        created, updated = _stamp(ctx, date(2024, 1, 8), date(2025, 6, 30))
        ctx.entity("product_recommendation", f"{source.name} → {offer['name']}", created, updated, ["Empfehlung"],
                   type=kind, description=text.format(src=source.name), source_product=relation(source.product),
                   source_price=relation(source.prices[0].entity), offers=relation(offer))


def _catalog_documents(ctx: WorldContext, catalog: Catalog) -> None:
    supply = [t.product for kind in ("power", "gas", "heat_pump") for t in catalog.tariffs[kind][:2]]
    documents = [("AGB_Energielieferung.pdf", "AGB", supply)]
    documents += [(f"Datenblatt_{ascii_slug(p.product['name']).replace('.', '_')}.pdf", "Datenblatt", [p.product])
                  for p in catalog.hardware.values()]
    for filename, tag, products in documents:
        created, updated = _stamp(ctx, date(2024, 1, 8), date(2025, 6, 30))
        file = pdf_file(ctx, filename, created, updated, [tag], products, public=True)
        for product in products:
            link(product, "product_downloads", file)
