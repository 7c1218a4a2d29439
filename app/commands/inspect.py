"""`tmf640 services` and `tmf640 monitors`: a short table of a database's services or Monitors (rich)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from app.commands.options import with_settings
from app.settings import Settings

QUERY = Annotated[str, typer.Option("--query", "-q", help='TMF filter, as on REST: "state=active&isBundle=true"')]
LIMIT = Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="Rows shown")]


async def _page(settings: Settings, kind: str, query: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    from resolvers.api import Resolvers
    from resolvers.context import EVERY_TENANT, Caller, RequestContext
    from resolvers.rules.tmf_query import parse
    from store.db import Database
    from store.uow import Store

    db = Database(settings.database_url)
    try:
        resolvers = Resolvers.build(Store(db), max_page=settings.max_page_size)
        operator = Caller(identity="operator", tenant=EVERY_TENANT)  # every tenant's rows: the database's owner
        ctx = RequestContext(caller=operator, base_url=settings.public_base_url or "")
        q = parse("&".join(p for p in (query, f"limit={limit}") if p))
        page = await (resolvers.services if kind == "services" else resolvers.monitors).search(ctx, q)
        return [dict(i) for i in page.items], page.total
    finally:
        await db.dispose()


def _table(title: str, columns: list[str], rows: list[list[str]], total: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{title} ({len(rows)} of {total})", title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@with_settings
def services(settings: Settings, query: QUERY = "", limit: LIMIT = 20) -> None:
    """Services of the database: id, name, state, specification, bundle, members."""
    items, total = asyncio.run(_page(settings, "services", query, limit))
    rows = [[_text(s.get("id")), _text(s.get("name")), _text(s.get("state")),
             _text((s.get("serviceSpecification") or {}).get("name")), "yes" if s.get("isBundle") else "",
             _text(len(s.get("supportingService") or []) or "")] for s in items]
    _table("services", ["id", "name", "state", "specification", "bundle", "members"], rows, total)


@with_settings
def monitors(settings: Settings, query: QUERY = "", limit: LIMIT = 20) -> None:
    """Monitors of the database: id, state, the service it tracks, members done, error."""
    from resolvers.rules import monitor_docs

    items, total = asyncio.run(_page(settings, "monitors", query, limit))
    rows = []
    for m in items:
        members = monitor_docs.member_statuses(m)
        done = sum(1 for x in members if x.get("status") == "completed")
        summary = monitor_docs.summary_of(m)
        rows.append([_text(m.get("id")), _text(m.get("state")), _text(summary.get("outcome")),
                     _text((summary.get("service") or {}).get("id")),
                     f"{done}/{len(members)}" if members else "", _text(summary.get("error"))[:60]])
    _table("monitors", ["id", "state", "outcome", "service", "members done", "error"], rows, total)
