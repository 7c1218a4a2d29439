"""Hub listeners (TMF `POST /hub`, `DELETE /hub/{id}`) and what operators read about their deliveries.

The one implementation behind REST and GraphQL. Registering stores the listener with its cursor at the end of
the outbox: it receives every event committed after registration that matches its `query`. Delivery itself
is the dispatcher's (resolvers.workers.dispatcher), never the request's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from resolvers import telemetry
from resolvers.callback_guard import CallbackGuard
from resolvers.context import ADMIN, RequestContext
from resolvers.rules.delivery import check_callback, check_secret
from resolvers.rules.errors import InvalidQuery, LimitReached, NotFound, Unauthorised, ValidationFailed
from resolvers.rules.matching import parse_event_query
from store.hubs import DeliveryRow, HubRow
from store.query_form import Page
from store.uow import Store

MAX_QUERY_LENGTH = 4096


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def registration(row: HubRow) -> dict[str, Any]:
    """The TMF `EventSubscription`: id, callback and query (when one was given). The secret is never shown."""
    out: dict[str, Any] = {"id": row.id, "callback": row.callback}
    if row.query is not None:
        out["query"] = row.query
    return out


def status(ctx: RequestContext, row: HubRow) -> dict[str, Any]:
    """A listener as operators see it: where delivery stands and why it fails."""
    return {
        **registration(row),
        "href": ctx.hub_href(row.id),
        "state": row.state,
        "signed": row.secret is not None,
        "createdAt": _instant(row.created_at),
        "deliveredUpToSeq": row.cursor,
        "failedAttempts": row.attempts,
        "firstFailureAt": _instant(row.first_failure_at),
        "nextAttemptAt": _instant(row.next_attempt_at),
        "failedAt": _instant(row.failed_at),
        "lastError": row.last_error,
    }


def delivery(row: DeliveryRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "seq": row.seq,
        "eventId": row.event_id,
        "eventType": row.event_type,
        "attempt": row.attempt,
        "at": _instant(row.at),
        "delivered": row.delivered,
        "statusCode": row.status_code,
        "error": row.error,
        "durationMs": round(row.duration_ms, 3),
    }


def _check_admin(ctx: RequestContext) -> None:
    if not ctx.caller.may(ADMIN):
        raise Unauthorised("hub listeners need the 'admin' scope")


def _page_bounds(offset: int, limit: int | None, max_page: int) -> tuple[int, int]:
    if offset < 0:
        raise InvalidQuery("offset", "must be zero or more")
    if limit is not None and limit < 0:
        raise InvalidQuery("limit", "must be zero or more")
    return offset, max_page if limit is None else min(limit, max_page)


@dataclass
class Hubs:
    """Register, read, resume and unregister hub listeners. `wake` nudges the dispatcher after a change."""

    store: Store
    wake: Callable[[], None] = field(default=lambda: None)
    max_page: int = 1000
    callbacks: CallbackGuard = field(default_factory=CallbackGuard)
    max_per_tenant: int = 100

    async def register(self, ctx: RequestContext, callback: Any, query: Any = None, secret: Any = None) -> HubRow:
        _check_admin(ctx)
        url = check_callback(callback)
        await self.callbacks.pin(url, also_own=[ctx.base_url])  # refused addresses never get registered
        if query is not None and not isinstance(query, str):
            raise ValidationFailed("query", "must be a string in the REST filter syntax")
        if query is not None and len(query) > MAX_QUERY_LENGTH:
            raise ValidationFailed("query", f"is longer than {MAX_QUERY_LENGTH} characters")
        parse_event_query(query)
        key = check_secret(secret)
        now = datetime.now(UTC)
        hub_id = str(uuid.uuid4())
        async with self.store.write(ctx.caller.scope) as uow:
            # Anything committed after this point has a larger seq (store.outbox): nothing slips between.
            if await uow.hubs.count() >= self.max_per_tenant:
                raise LimitReached(f"this tenant already has {self.max_per_tenant} hub listeners, the most it may "
                                   "register (TMF640_HUB_MAX_LISTENERS_PER_TENANT); remove one first")
            cursor = await uow.outbox.last_seq()
            await uow.hubs.insert(id=hub_id, callback=url, query=query, secret=key, owner=ctx.caller.identity,
                                  cursor=cursor, now=now, tenant=ctx.caller.tenant)
            row = await uow.hubs.get(hub_id)
        assert row is not None
        self.wake()
        return row

    async def unregister(self, ctx: RequestContext, id: str) -> None:
        _check_admin(ctx)
        async with self.store.write(ctx.caller.scope) as uow:
            if not await uow.hubs.delete(id):
                raise NotFound("Hub", id)
        telemetry.forget_listener(id)  # its metric series go with it

    async def get(self, ctx: RequestContext, id: str) -> HubRow:
        _check_admin(ctx)
        async with self.store.read(ctx.caller.scope) as uow:
            row = await uow.hubs.get(id)
        if row is None:
            raise NotFound("Hub", id)
        return row

    async def search(
        self, ctx: RequestContext, offset: int = 0, limit: int | None = None
    ) -> tuple[list[HubRow], int]:
        """Registered listeners, oldest first, and how many there are."""
        _check_admin(ctx)
        offset, limit = _page_bounds(offset, limit, self.max_page)
        async with self.store.read(ctx.caller.scope) as uow:
            return await uow.hubs.page(offset, limit)

    async def resume(self, ctx: RequestContext, id: str) -> HubRow:
        """Deliver again from where the listener stopped (its cursor), starting now."""
        _check_admin(ctx)
        now = datetime.now(UTC)
        async with self.store.write(ctx.caller.scope) as uow:
            if not await uow.hubs.resume(id, now):
                raise NotFound("Hub", id)
            row = await uow.hubs.get(id)
        assert row is not None
        self.wake()
        return row

    async def deliveries(self, ctx: RequestContext, id: str, offset: int = 0, limit: int | None = None) -> Page:
        """Every recorded attempt for one listener, newest first."""
        _check_admin(ctx)
        offset, limit = _page_bounds(offset, limit, self.max_page)
        async with self.store.read(ctx.caller.scope) as uow:
            if await uow.hubs.get(id) is None:
                raise NotFound("Hub", id)
            rows, total = await uow.hubs.deliveries(id, offset, limit)
        return Page(items=[delivery(r) for r in rows], total=total, offset=offset, limit=limit)
