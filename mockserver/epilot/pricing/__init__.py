"""epilot's pricing: the line-item engine, spot market prices and the catalog query language."""

from .catalog import Catalog, DictCatalog
from .catalog_query import CatalogQueryError, matches, parse_catalog_query, parse_sort, sort_entities
from .engine import compute_pricing_details, price_order_payload
from .errors import PricingInputError, UnknownCatalogIdError
from .jsnum import js_number_string
from .market import average_market_price, historic_market_prices

__all__ = [
    "Catalog",
    "CatalogQueryError",
    "DictCatalog",
    "PricingInputError",
    "UnknownCatalogIdError",
    "average_market_price",
    "compute_pricing_details",
    "historic_market_prices",
    "js_number_string",
    "matches",
    "parse_catalog_query",
    "parse_sort",
    "price_order_payload",
    "sort_entities",
]
