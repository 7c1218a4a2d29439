"""Relay cursor connections over the resolvers' offset pages.

A cursor is an offset made opaque. It names a position in the filtered, sorted list at the time it was
issued: rows added or removed before it shift what the next page holds (the same as REST offset paging).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from resolvers.rules.errors import InvalidQuery
from store.query_form import Page

T = TypeVar("T")
_PREFIX = "offset:"


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(description="One page of a filtered, sorted list (Relay connection).")
class Connection(Generic[T]):
    total_count: int = strawberry.field(description="Every match of the filter, not only this page's")
    page_info: PageInfo
    edges: list[Edge[T]]

    @strawberry.field(description="The nodes of edges, for clients that do not need cursors")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode(cursor: str, argument: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    number = text[len(_PREFIX):] if text.startswith(_PREFIX) else ""
    if not number.isdigit():
        raise InvalidQuery(argument, f"{cursor!r} is not a cursor this server issued")
    return int(number)


@dataclass(frozen=True)
class Slice:
    """Which rows a first/after/last/before request wants: offset and limit (None: the server's bound)."""

    offset: int
    limit: int | None


async def window(
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    count: Callable[[], Awaitable[int]],
) -> Slice:
    """The rows the Relay arguments select; `count` is called only for `last` without `before`."""
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise InvalidQuery(name, f"must be zero or more; got {value}")
    start = decode(after, "after") + 1 if after is not None else 0
    end = decode(before, "before") if before is not None else None
    if last is not None and end is None:
        end = await count()
    if end is not None and end < start:
        end = start
    if first is not None:
        limit: int | None = first if end is None else min(first, end - start)
        if last is not None and limit is not None:  # both given: the last `last` of the first `first`
            start, limit = start + max(0, limit - last), min(limit, last)
        return Slice(start, limit)
    if last is not None and end is not None:
        begin = max(start, end - last)
        return Slice(begin, end - begin)
    return Slice(start, None if end is None else end - start)


def connection(page: Page, nodes: list[T]) -> Connection[T]:
    edges = [Edge(cursor=encode(page.offset + i), node=node) for i, node in enumerate(nodes)]
    info = PageInfo(
        has_next_page=page.offset + len(edges) < page.total,
        has_previous_page=page.offset > 0,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(total_count=page.total, page_info=info, edges=edges)
