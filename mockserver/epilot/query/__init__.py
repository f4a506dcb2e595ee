"""One search language for entity search and catalog search: Elasticsearch ``query_string`` syntax,
parsed by luqum into one tree (:mod:`.nodes`), bounded before parsing (:mod:`.scan` holds the limits),
and answered in memory or by the store with the same text semantics (:mod:`.evaluate`)."""

from .evaluate import matches, to_clause
from .nodes import And, MatchAll, Node, Not, Or, QueryError, Range, Term, escape, render
from .parse import parse
from .scan import MAX_DEPTH, MAX_LENGTH, MAX_TERM_LENGTH, MAX_TERMS

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_TERMS",
    "MAX_TERM_LENGTH",
    "And",
    "MatchAll",
    "Node",
    "Not",
    "Or",
    "QueryError",
    "Range",
    "Term",
    "escape",
    "matches",
    "parse",
    "render",
    "to_clause",
]
