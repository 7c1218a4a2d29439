"""Monitor reads (the activation engine writes them, see resolvers.activation.progress and resolvers.activation.intake).

`state` is stored as `InProgress`, `InError` or `Completed`; a filter on it accepts the published variants
(`In Progress`, `inProgress`, `completed`...), so a client copying the user guide's samples finds its monitors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from resolvers.context import RequestContext
from resolvers.rules import monitor_docs
from resolvers.rules.errors import NotFound, ValidationFailed
from resolvers.rules.query_check import ListQuery, Page, check, select_fields
from store.errors import BadValue
from store.monitors import MonitorRow
from store.query_form import Condition
from store.uow import Store


def render(ctx: RequestContext, row: MonitorRow) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "href": ctx.monitor_href(row.id)}
    out.update(row.doc)
    return out


def _normal_states(query: ListQuery) -> ListQuery:
    conditions = tuple(
        Condition(c.path, c.op, tuple(monitor_docs.normalize_state(v) for v in c.values))
        if c.path == ("state",) and c.op == "eq"
        else c
        for c in query.conditions
    )
    return replace(query, conditions=conditions)


@dataclass
class Monitors:
    store: Store
    max_page: int = 1000

    async def get(self, ctx: RequestContext, id: str, fields: frozenset[str] | None = None) -> dict[str, Any]:
        check("monitor", ListQuery(fields=fields), self.max_page)
        if not id or "\x00" in id:  # no monitor has such an id, and no database column could hold it
            raise NotFound("Monitor", id)
        async with self.store.read(ctx.caller.scope) as uow:
            row = await uow.monitors.get(id)
        if row is None:
            raise NotFound("Monitor", id)
        return select_fields(render(ctx, row), fields)

    async def search(self, ctx: RequestContext, query: ListQuery) -> Page:
        query = _normal_states(check("monitor", query, self.max_page))
        limit = query.limit if query.limit is not None else self.max_page
        async with self.store.read(ctx.caller.scope) as uow:
            try:
                rows, total, keys = await uow.monitors.search(query, limit)
            except BadValue as exc:
                raise ValidationFailed(exc.path, exc.message) from exc
        items = [select_fields(render(ctx, r), query.fields) for r in rows]
        return Page(items=items, total=total, offset=query.offset, limit=limit, keys=keys)

    @staticmethod
    def summary(monitor: dict[str, Any]) -> dict[str, Any]:
        """A Monitor's summary of its work (parsed from `response.body`; empty when not this server's)."""
        return monitor_docs.summary_of(monitor)

    @staticmethod
    def member_statuses(monitor: dict[str, Any]) -> list[dict[str, Any]]:
        """Each member's status in a Monitor (parsed from `response.body`), for GraphQL's typed list."""
        return monitor_docs.member_statuses(monitor)
