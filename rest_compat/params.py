"""REST query strings into the neutral query form; the parser itself is resolvers.rules.tmf_query."""

from __future__ import annotations

from resolvers.rules.errors import InvalidQuery
from resolvers.rules.tmf_query import RESERVED, parse, parse_filter_key, split_values

__all__ = ["RESERVED", "parse", "parse_fields", "parse_filter_key", "split_values"]


def parse_fields(query_string: str) -> frozenset[str] | None:
    """Only `fields` is meaningful on a single retrieve; anything else is refused by name."""
    q = parse(query_string)
    if q.conditions or q.sort or q.offset or q.limit is not None:
        raise InvalidQuery("query", "a single resource takes only the fields parameter")
    return q.fields
