"""Customer service: support tickets and the comments staff write on them."""

from __future__ import annotations

from datetime import date, timedelta

from .context import WorldContext, link_both, relation
from .customer_profile import Customer
from .organization import Organization
from .timeline import WORLD_NOW, at, between

# subject, category, description
_TOPICS = (
    ("Abschlagsänderung", "Abrechnung", "Kunde bittet um Anpassung des monatlichen Abschlags."),
    ("Frage zur Jahresabrechnung", "Abrechnung", "Kunde versteht die Nachzahlung in der Jahresabrechnung nicht."),
    ("Zählerstand korrigieren", "Zählerstand", "Der gemeldete Zählerstand war ein Tippfehler und soll korrigiert "
                                               "werden."),
    ("Umzug", "Umzug", "Kunde zieht um und möchte den Vertrag an die neue Adresse mitnehmen."),
    ("SEPA-Mandat ändern", "Zahlung", "Neue Bankverbindung für das Lastschriftmandat."),
    ("Tarifwechsel", "Vertrag", "Kunde möchte in einen Tarif mit längerer Preisgarantie wechseln."),
    ("Zähler defekt", "Zähler", "Die Anzeige des Zählers ist seit einigen Tagen leer."),
    ("Portalzugang", "Portal", "Kunde erhält keine E-Mail zum Zurücksetzen des Passworts."),
)
_COMMENTS = (
    "Rückruf mit dem Kunden vereinbart.",
    "Unterlagen angefordert, warten auf Rückmeldung.",
    "An die Abrechnung weitergeleitet.",
    "Kunde telefonisch informiert, Anliegen erledigt.",
    "Zählerstand geprüft und im ERP korrigiert.",
    "Neuer Abschlag ab nächstem Monat hinterlegt.",
)


def tickets(ctx: WorldContext, org: Organization, customer: Customer, count: int) -> None:
    rng = ctx.rng
    now = WORLD_NOW.date()
    for _ in range(count):
        subject, category, description = rng.choice(_TOPICS)
        opened = between(rng, at(max(customer.since, date(2023, 1, 2)), 7), WORLD_NOW - timedelta(hours=2))
        age = (now - opened.date()).days
        if age > 30:
            status = rng.choices(("closed", "resolved", "waiting"), (70, 25, 5))[0]
        else:
            status = rng.choice(("open", "in_progress", "waiting", "resolved"))
        number = f"T-{opened.year}-{ctx.next_number('ticket', 1001):06d}"
        ticket = ctx.entity(
            "ticket", f"{number} {subject}", opened, between(rng, opened, WORLD_NOW), [category], ticket_number=number,
            subject=subject, description=description, status=status,
            priority=rng.choices(("low", "medium", "high", "urgent"), (30, 50, 15, 5))[0], category=category,
            channel=rng.choices(("email", "phone", "portal", "chat", "letter"), (35, 30, 25, 7, 3))[0],
            due_date=(opened + timedelta(days=rng.randint(3, 14))).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        if customer.contracts:
            ticket["contract"] = relation(rng.choice(customer.contracts))
        link_both(customer.contact, "tickets", ticket, "customer")
        for n in range(rng.choices((0, 1, 2), (30, 45, 25))[0]):
            written = between(rng, opened, min(opened + timedelta(days=n + 1), WORLD_NOW))
            author = rng.randrange(len(org.staff))
            text = rng.choice(_COMMENTS)
            ctx.entity("comment", text[:40], written, written, [], content=text,
                       author={"type": "user", "id": org.staff_ids[author], "display_name": org.staff[author]},
                       entity=relation(ticket))
