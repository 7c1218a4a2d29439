"""ISO 8601 instants as the domain reads them (the store indexes with the same rules)."""

from store.values import parse_instant, parse_number

__all__ = ["parse_instant", "parse_number"]
