"""Monitor reads: by id, by query, and batched for GraphQL's loaders (the one resolver that reads Monitors).

The activation engine writes them (resolvers.activation.progress and .writes); what a Monitor's document holds
and what its outcome means is resolvers.rules.monitor_docs; rows are store.monitors.

`state` is stored as `InProgress`, `InError` or `Completed`; a filter on it accepts the published variants
(`In Progress`, `inProgress`, `completed`...), so a client copying the user guide's samples finds its monitors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from resolvers.context import RequestContext
from resolvers.rules import monitor_docs
from resolvers.rules.errors import NotFound, ValidationFailed
from resolvers.rules.query_check import check, select_fields
from store.errors import BadValue
from store.monitors import MonitorRow
from store.query_form import Condition, ListQuery, Page
from store.uow import Store


def render(ctx: RequestContext, row: MonitorRow) -> dict[str, Any]:
    return monitor_docs.render(row.id, ctx.monitor_href(row.id), row.doc)


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

    async def for_sources(self, ctx: RequestContext, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """For each service id, the monitors whose source it is, oldest first (one statement for the batch)."""
        out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        async with self.store.read(ctx.caller.scope) as uow:
            rows = await uow.monitors.for_sources(list(dict.fromkeys(ids)))
        for row in rows:
            if row.source_id is not None:
                out.setdefault(row.source_id, []).append(render(ctx, row))
        return out

    async def many(self, ctx: RequestContext, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The monitors held here among `ids` (one statement for the batch)."""
        possible = [i for i in ids if i and "\x00" not in i]  # no database column holds a NUL character
        async with self.store.read(ctx.caller.scope) as uow:
            rows = await uow.monitors.get_many(possible)
        return {row.id: render(ctx, row) for row in rows}

    @staticmethod
    def verdict(monitor: dict[str, Any]) -> monitor_docs.Verdict:
        """What the Monitor says about its work: ended or not, its outcome, and for a failure the status and
        error a REST caller that waited is answered with (resolvers.rules.monitor_docs.verdict)."""
        return monitor_docs.verdict(monitor)

    @staticmethod
    def summary(monitor: dict[str, Any]) -> dict[str, Any]:
        """A Monitor's summary of its work (parsed from `response.body`; empty when not this server's)."""
        return monitor_docs.summary_of(monitor)

    @staticmethod
    def member_statuses(monitor: dict[str, Any]) -> list[dict[str, Any]]:
        """Each member's status in a Monitor (parsed from `response.body`), for GraphQL's typed list."""
        return monitor_docs.member_statuses(monitor)
