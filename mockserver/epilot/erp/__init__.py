"""ERP Toolkit inbound mapping engine: JSONata, event payloads, and entity / meter reading updates."""

from mockserver.epilot.erp.jsonata import UNDEFINED, Expression, JsonataError, compile_expression
from mockserver.epilot.erp.mapping import InboundMapping, MappingError, MappingResult, compile_mapping, map_event
from mockserver.epilot.erp.payload import PayloadError, parse_payload

__all__ = [
    "UNDEFINED",
    "Expression",
    "InboundMapping",
    "JsonataError",
    "MappingError",
    "MappingResult",
    "PayloadError",
    "compile_expression",
    "compile_mapping",
    "map_event",
    "parse_payload",
]
