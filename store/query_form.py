"""The neutral query form: what REST query strings and GraphQL filter inputs both translate into.

It lives in `store` because the store accepts it; `resolvers.rules.query_check` builds and checks it.

A `ListQuery` is plain data. `store` compiles it to SQL; `resolvers.rules.matching` evaluates it against one
document in Python (hub queries and subscription filters). Neither API layer builds SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Op = Literal["eq", "gt", "gte", "lt", "lte", "regex"]
OPS: tuple[Op, ...] = ("eq", "gt", "gte", "lt", "lte", "regex")


@dataclass(frozen=True)
class Condition:
    """`path` compared with `op` to any of `values` (several values OR; conditions of a filter AND).

    `path` is the dotted attribute path split into segments, e.g. ("relatedParty", "id"). Arrays on the
    way are looked through: the condition holds when any element at the path satisfies it. Values are the
    strings the client sent; comparison chooses instant, number or text from the value's form.
    """

    path: tuple[str, ...]
    op: Op
    values: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class SortKey:
    path: tuple[str, ...]
    descending: bool = False

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Keyset:
    """A stretch of a sorted list, between positions named by value: a row's sort key values and its id (as
    `Page.keys` gives). Unlike an offset, a position does not shift when rows are inserted or deleted.

    Rows strictly after `after` and strictly before `before` (either may be open); `from_end` takes the page
    from the end of that stretch instead of its start (the rows still come in the list's order).
    """

    after: tuple[object, ...] | None = None
    before: tuple[object, ...] | None = None
    from_end: bool = False


@dataclass(frozen=True)
class ListQuery:
    """One page of a filtered, sorted collection. `limit=None` means the server's page bound.

    With `keyset`, the page is taken from the stretch of the list it names, instead of at `offset`.
    """

    conditions: tuple[Condition, ...] = ()
    sort: tuple[SortKey, ...] = ()
    offset: int = 0
    limit: int | None = None
    fields: frozenset[str] | None = field(default=None)
    keyset: Keyset | None = None


@dataclass(frozen=True)
class Page:
    """Items of one page plus the count of every match of the filter.

    `versions` holds the entity version of each item, in order, when the resource is versioned (GraphQL
    hands it out as the item's etag); it is empty otherwise. `keys` holds each item's position for a `Keyset`
    (its sort key values, then its id).
    """

    items: list[dict[str, object]]
    total: int
    offset: int
    limit: int
    versions: list[int] = field(default_factory=list)
    keys: list[tuple[object, ...]] = field(default_factory=list)  # each item's Keyset values, in order
