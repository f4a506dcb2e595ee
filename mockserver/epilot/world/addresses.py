"""German postal addresses, phone numbers and e-mail addresses that look real.

Postal codes are real codes of the city they are paired with, and landline numbers use the city's
area code. Street names are common German ones rather than Faker's invented person names.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class City:
    name: str
    area_code: str
    postal_codes: tuple[str, ...]


CITIES: tuple[City, ...] = (
    City("Köln", "221", ("50667", "50672", "50674", "50677", "50733", "50823", "50825", "50931", "50937",
                         "51063", "51065", "51105")),
    City("Bonn", "228", ("53111", "53113", "53115", "53117", "53119", "53121", "53123", "53125", "53173",
                         "53175", "53225", "53227")),
    City("Düsseldorf", "211", ("40210", "40211", "40212", "40215", "40217", "40219", "40223", "40225", "40227",
                               "40233", "40237", "40477", "40545", "40547")),
    City("Koblenz", "261", ("56068", "56070", "56072", "56073", "56075", "56076", "56077")),
    City("Aachen", "241", ("52062", "52064", "52066", "52068", "52070", "52072", "52074", "52076")),
    City("Münster", "251", ("48143", "48145", "48147", "48149", "48151", "48153", "48155", "48157", "48159",
                            "48161")),
    City("Dortmund", "231", ("44135", "44137", "44139", "44141", "44143", "44145", "44147", "44149")),
    City("Essen", "201", ("45127", "45128", "45130", "45131", "45133", "45134", "45136", "45138", "45139",
                          "45141", "45143", "45144", "45145", "45147")),
    City("Mainz", "6131", ("55116", "55118", "55120", "55122", "55124", "55126", "55127", "55128", "55129",
                           "55130", "55131")),
    City("Frankfurt am Main", "69", ("60311", "60313", "60316", "60318", "60320", "60322", "60385", "60386",
                                     "60486", "60487", "60594", "60596")),
    City("Berlin", "30", ("10115", "10117", "10119", "10178", "10243", "10245", "10247", "10437", "10439",
                          "10553", "10585", "10627", "12043", "12045", "13347")),
    City("Hamburg", "40", ("20095", "20144", "20249", "20253", "20257", "20259", "22041", "22083", "22085",
                           "22301", "22303", "22767", "22769")),
    City("München", "89", ("80331", "80333", "80335", "80336", "80469", "80636", "80637", "80796", "80797",
                           "81369", "81371", "81541", "81543")),
    City("Stuttgart", "711", ("70173", "70174", "70176", "70178", "70180", "70182", "70190", "70192", "70197",
                              "70199")),
    City("Leipzig", "341", ("04103", "04105", "04107", "04109", "04155", "04157", "04177", "04229", "04275",
                            "04277", "04315", "04317")),
    City("Dresden", "351", ("01067", "01069", "01097", "01099", "01127", "01129", "01139", "01159", "01187",
                            "01189", "01217", "01219", "01277", "01307", "01309")),
    City("Hannover", "511", ("30159", "30161", "30163", "30165", "30167", "30169", "30171", "30173", "30175",
                             "30177", "30179")),
    City("Nürnberg", "911", ("90402", "90403", "90408", "90409", "90411", "90419", "90429", "90431", "90439",
                             "90441", "90443", "90459", "90461", "90478", "90480", "90482", "90489", "90491")),
    City("Bremen", "421", ("28195", "28197", "28199", "28201", "28203", "28205", "28207", "28209", "28211",
                           "28213", "28215", "28217")),
    City("Freiburg im Breisgau", "761", ("79098", "79100", "79102", "79104", "79106", "79108", "79110",
                                         "79111", "79112", "79114", "79115", "79117")),
)

# Most customers of a regional utility live in its home region (here: the Rhineland).
_CITY_WEIGHTS = (16, 9, 9, 6, 5, 4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2)

STREETS = (
    "Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße", "Bergstraße", "Birkenweg",
    "Lindenstraße", "Kirchstraße", "Waldstraße", "Ringstraße", "Schillerstraße", "Goethestraße", "Am Markt",
    "Mühlenweg", "Wiesenweg", "Rosenstraße", "Poststraße", "Feldstraße", "Jahnstraße", "Buchenweg", "Ahornweg",
    "Eichenweg", "Parkstraße", "Friedrichstraße", "Mozartstraße", "Beethovenstraße", "Lessingstraße",
    "Uhlandstraße", "Blumenstraße", "Brunnenstraße", "Industriestraße", "Mittelstraße", "Talstraße",
    "Kastanienallee", "Tannenweg", "Am Sportplatz", "Rheinstraße", "Venloer Straße", "Aachener Straße",
    "Kölner Straße", "Bonner Straße", "Kaiserstraße", "Wilhelmstraße", "Luisenstraße", "Marktplatz",
    "Im Mediapark", "Poppelsdorfer Allee", "Am Alten Hospital", "Rheinuferstraße",
)

ADDITIONAL_INFO = ("", "", "", "", "EG", "1. OG", "2. OG", "3. OG", "Hinterhaus", "DG links", "c/o Müller")
EMAIL_DOMAINS = ("example.de", "example.com", "example.org", "example.net")
MOBILE_PREFIXES = ("151", "152", "157", "160", "162", "170", "171", "172", "173", "175", "176", "177", "178")


def pick_city(rng: random.Random) -> City:
    return rng.choices(CITIES, weights=_CITY_WEIGHTS)[0]


def street_address(rng: random.Random, city: City, tags: list[str], item_id: str | None = None) -> dict[str, Any]:
    """An ``Address`` item in ``city``."""
    number = str(rng.randint(1, 180))
    if rng.random() < 0.12:
        number += rng.choice("abc")
    address: dict[str, Any] = {}
    if item_id:
        address["_id"] = item_id
    address.update({
        "_tags": tags,
        "street": rng.choice(STREETS),
        "street_number": number,
        "postal_code": rng.choice(city.postal_codes),
        "city": city.name,
        "country": "DE",
    })
    extra = rng.choice(ADDITIONAL_INFO)
    if extra:
        address["additional_info"] = extra
    return address


def one_line(address: dict[str, Any]) -> str:
    """``Street 12, 50672 Köln`` as contracts carry addresses as text."""
    return f"{address['street']} {address['street_number']}, {address['postal_code']} {address['city']}"


def landline(rng: random.Random, city: City) -> str:
    digits = 9 - len(city.area_code)
    return f"+49 {city.area_code} {rng.randint(10 ** (digits - 1), 10 ** digits - 1)}"


def mobile(rng: random.Random) -> str:
    return f"+49 {rng.choice(MOBILE_PREFIXES)} {rng.randint(1_000_000, 99_999_999)}"


def ascii_slug(text: str) -> str:
    """Lower-case ASCII for e-mail local parts and domains: ``Jürgen Weiß`` -> ``juergen.weiss``."""
    text = text.lower()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = []
    for char in text:
        if char.isalnum():
            out.append(char)
        elif out and out[-1] not in ".-":
            out.append("-" if char == "&" else ".")
    return "".join(out).strip(".-")


def short_id(rng: random.Random) -> str:
    """Id of an item inside a repeatable attribute (epilot uses 8 characters)."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(alphabet) for _ in range(8))
