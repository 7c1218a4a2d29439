"""Changes the engine writes inside a unit of work, each with its revision and its outbox events.

Requests and the runner both use these, so that a service changed by a driver's success emits exactly what
a service changed by a client's write emits, in the same transaction as the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from resolvers.context import RequestContext
from resolvers.rendering import render_one, render_services
from resolvers.rules import documents, envelope, monitor_docs, patching
from store.errors import StaleVersion
from store.monitors import MonitorRow
from store.uow import UnitOfWork


async def emit(
    uow: UnitOfWork,
    ctx: RequestContext,
    event_type: str,
    resource: dict[str, Any],
    now: datetime,
    field_paths: list[str] | None = None,
    version: int | None = None,
) -> None:
    """One event in the outbox; `version`: the service's version it carries (its etag for subscribers)."""
    ev = envelope.build(event_type, resource, correlation_id=ctx.correlation_id, at=now, field_paths=field_paths)
    await uow.outbox.add(
        event_id=ev.event_id, event_type=ev.event_type, correlation_id=ev.correlation_id,
        resource_type=ev.resource_type, resource_id=ev.resource_id, at=ev.at, payload=ev.payload,
        tenant=ctx.caller.tenant, version=version,
    )


# ---- monitors ---------------------------------------------------------------------------------------------


async def insert_monitor(
    uow: UnitOfWork, ctx: RequestContext, id: str, doc: dict[str, Any], source_id: str | None, now: datetime
) -> dict[str, Any]:
    await uow.monitors.insert(id, doc, source_id=source_id, correlation_id=ctx.correlation_id, now=now)
    rendered = monitor_docs.render(id, ctx.monitor_href(id), doc)
    await emit(uow, ctx, "MonitorCreateEvent", rendered, now)
    return rendered


async def update_monitor(
    uow: UnitOfWork, ctx: RequestContext, id: str, doc: dict[str, Any], now: datetime,
    current: MonitorRow | None = None,
) -> dict[str, Any] | None:
    """Store the monitor's next document; a state change emits MonitorStateChangeEvent, else AttributeValue.

    `current`: the monitor's row as this transaction just read it (saves reading it again)."""
    row = current if current is not None else await uow.monitors.get(id)
    if row is None or row.doc == doc:
        return None
    await uow.monitors.update(id, doc, row.version, now)
    return await announce(uow, ctx, id, row.doc, doc, now)


async def announce(
    uow: UnitOfWork, ctx: RequestContext, id: str, old: dict[str, Any], doc: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """The event of a monitor going from `old` to `doc`: MonitorStateChangeEvent when its state changes, else
    MonitorAttributeValueChangeEvent naming what changed (none when nothing did)."""
    if old == doc:
        return None
    rendered = monitor_docs.render(id, ctx.monitor_href(id), doc)
    if old.get("state") != doc.get("state"):
        await emit(uow, ctx, "MonitorStateChangeEvent", rendered, now)
    else:
        changed = envelope.changed_attributes(patching.diff(old, doc))
        await emit(uow, ctx, "MonitorAttributeValueChangeEvent", rendered, now, changed)
    return rendered


# ---- services ---------------------------------------------------------------------------------------------


async def apply_doc(
    uow: UnitOfWork,
    ctx: RequestContext,
    service_id: str,
    doc: dict[str, Any],
    now: datetime,
    *,
    operation: str,
    by_value: Iterable[str] = (),
) -> int | None:
    """Make `doc` the service's as-is document (revision, links, events); returns the new version.

    None when the service is gone or nothing changed. `by_value` names members this change created.
    """
    for _ in range(5):
        row = await uow.services.get(service_id, for_update=True)
        if row is None:
            return None
        ops = patching.diff(row.doc, doc)
        if not ops:
            return row.version
        owned = {link.dst_id for link in await uow.services.links_from([service_id]) if link.by_value}
        links = documents.links_of(service_id, doc, owned | set(by_value))
        try:
            version = await uow.services.update(service_id, doc, links, row.version, now)
        except StaleVersion:
            continue
        await uow.services.add_revision(
            service_id=service_id, version=version, operation=operation, actor=ctx.caller.identity,
            correlation_id=ctx.correlation_id, at=now, changes=ops, state=doc.get("state"),
            tenant=ctx.caller.tenant,
        )
        rendered = await render_one(uow, ctx, service_id)
        assert rendered is not None
        other = [name for name in envelope.changed_attributes(ops) if name != "state"]
        if other:
            await emit(uow, ctx, "ServiceAttributeValueChangeEvent", rendered, now, other, version=version)
        if row.doc.get("state") != doc.get("state"):
            await emit(uow, ctx, "ServiceStateChangeEvent", rendered, now, version=version)
        return version
    raise StaleVersion(service_id)


async def delete_service(uow: UnitOfWork, ctx: RequestContext, service_id: str, now: datetime) -> bool:
    row = await uow.services.get(service_id, for_update=True)
    if row is None:
        return False
    rendered = (await render_services(uow, ctx, [row]))[0]
    await uow.services.delete(service_id)
    await uow.services.add_revision(
        service_id=service_id, version=row.version + 1, operation="delete", actor=ctx.caller.identity,
        correlation_id=ctx.correlation_id, at=now, changes=[], state=row.doc.get("state"),
        tenant=ctx.caller.tenant,
    )
    await emit(uow, ctx, "ServiceDeleteEvent", rendered, now, version=row.version)
    return True
