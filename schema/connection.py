"""Relay cursor connections with keyset cursors.

A cursor names a row by value: the row's sort key values and its id, as the store reports them
(`Page.keys`), plus the sort it was issued for. The next page is "the rows after that one in this order",
so rows inserted or deleted elsewhere never make a page repeat or skip a row, for every sort (the order is
total: the id breaks ties). A cursor issued for another sort is refused by name. REST keeps offset paging.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.rules.errors import InvalidQuery
from resolvers.rules.query_check import Keyset, ListQuery, Page

T = TypeVar("T")


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


def _sort_signature(query: ListQuery) -> str:
    return ",".join(("-" if k.descending else "") + k.dotted for k in query.sort)


def _plain(value: object) -> object:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _typed(value: object) -> object:
    if isinstance(value, dict) and isinstance(value.get("t"), str):
        return datetime.fromisoformat(value["t"])
    return value


def encode(query: ListQuery, key: tuple[object, ...]) -> str:
    text = json.dumps({"s": _sort_signature(query), "k": [_plain(v) for v in key]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode(query: ListQuery, cursor: str, argument: str) -> tuple[object, ...]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list) or not data["k"]:
        raise InvalidQuery(argument, f"{cursor!r} is not a cursor this server issued")
    if data.get("s") != _sort_signature(query):
        raise InvalidQuery(argument, f"the cursor was issued for another sort ({data.get('s') or 'by id'!r})")
    try:
        return tuple(_typed(v) for v in data["k"])
    except ValueError as exc:
        raise InvalidQuery(argument, f"{cursor!r} is not a cursor this server issued") from exc


@dataclass(frozen=True)
class Window:
    """The query for one Relay page and how to cut what it returns."""

    query: ListQuery
    want: int | None  # rows the client asked for (None: the server's page bound)
    backward: bool  # `last` without `first`: the rows nearest the end of the stretch
    last: int | None  # with both first and last: keep the last `last` of the first `first`
    after: bool
    before: bool


def window(base: ListQuery, first: int | None, after: str | None, last: int | None, before: str | None) -> Window:
    """The keyset query the Relay arguments select; one row more than asked tells whether there are more."""
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise InvalidQuery(name, f"must be zero or more; got {value}")
    backward = last is not None and first is None
    keyset = Keyset(
        after=decode(base, after, "after") if after is not None else None,
        before=decode(base, before, "before") if before is not None else None,
        from_end=backward,
    )
    want = last if backward else first
    limit = None if want is None else want + 1
    query = replace(base, offset=0, limit=limit, keyset=keyset)
    return Window(query, want, backward, last if first is not None else None, after is not None, before is not None)


async def fetch(part: Window, search: Callable[[ListQuery], Awaitable[Page]]) -> tuple[Page, list[int]]:
    """The page, and which of its items (indexes, in list order) the client gets."""
    page = await search(part.query)
    n = len(page.items)
    keep = list(range(n))
    if part.want is not None:
        keep = keep[n - part.want:] if part.backward and n > part.want else keep[: part.want]
    if part.last is not None:
        keep = keep[max(0, len(keep) - part.last):]
    return page, keep


def connection(part: Window, page: Page, keep: list[int], nodes: list[Any]) -> Connection[Any]:
    edges = [Edge(cursor=encode(part.query, page.keys[i]), node=nodes[i]) for i in keep]
    n = len(page.items)
    more = (n > part.want if part.want is not None and part.want < page.limit else n >= page.limit > 0)
    info = PageInfo(
        # Rows past a given cursor existed when it was issued (Relay: "if the server can determine...").
        has_next_page=part.before or (more and not part.backward),
        has_previous_page=part.after or (more and part.backward) or (part.last is not None and len(keep) < n),
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return Connection(total_count=page.total, page_info=info, edges=edges)
