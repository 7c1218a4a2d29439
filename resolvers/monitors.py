"""Monitor reads (the activation engine writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resolvers.context import RequestContext
from resolvers.errors import NotFound, ValidationFailed
from resolvers.query import ListQuery, Page, check, select_fields
from store.errors import BadValue
from store.monitors import MonitorRow
from store.uow import Store


def render(ctx: RequestContext, row: MonitorRow) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "href": ctx.monitor_href(row.id)}
    out.update(row.doc)
    return out


@dataclass
class Monitors:
    store: Store
    max_page: int = 1000

    async def get(self, ctx: RequestContext, id: str, fields: frozenset[str] | None = None) -> dict[str, Any]:
        check("monitor", ListQuery(fields=fields), self.max_page)
        if not id or "\x00" in id:  # no monitor has such an id, and no database column could hold it
            raise NotFound("Monitor", id)
        async with self.store.read() as uow:
            row = await uow.monitors.get(id)
        if row is None:
            raise NotFound("Monitor", id)
        return select_fields(render(ctx, row), fields)

    async def search(self, ctx: RequestContext, query: ListQuery) -> Page:
        query = check("monitor", query, self.max_page)
        limit = query.limit if query.limit is not None else self.max_page
        async with self.store.read() as uow:
            try:
                rows, total = await uow.monitors.search(query, limit)
            except BadValue as exc:
                raise ValidationFailed(exc.path, exc.message) from exc
        items = [select_fields(render(ctx, r), query.fields) for r in rows]
        return Page(items=items, total=total, offset=query.offset, limit=limit)
