"""Bulk import (`tmf640 import`): services as they stand in the network, stored in batches.

An import records inventory, it does not order work: each Service_Create document is checked as a create is
(schema, lifecycle, members by value), then stored with its given state, with no activation, no driver call and no
Monitor. Each service gets its creation revision and, unless turned off, its `ServiceCreateEvent`, written to the
outbox with the batch (the relay of a running server publishes them).

A re-run of the same file stores nothing twice: a document whose id (given, or derived from its content when it
has none, see `derived_id`) is already held is counted as present and left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from resolvers.context import RequestContext
from resolvers.rules import documents, envelope, patching
from resolvers.rules.errors import DomainError, ValidationFailed
from resolvers.services import Services
from store import bulk
from store.uow import Store

_NAMESPACE = uuid.UUID("2f0c1d6e-6a40-4b8e-9a51-640640640640")


def derived_id(body: dict[str, Any], occurrence: int) -> str:
    """The id of a document given without one: the same content (and the same occurrence of that content in
    the file) gives the same id, so that a re-run finds it already stored."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return str(uuid.uuid5(_NAMESPACE, f"{digest}:{occurrence}"))


@dataclass(frozen=True)
class Item:
    """One document of the import file and where it was (its line, or its position in a JSON array)."""

    number: int
    body: Any


@dataclass
class Outcome:
    stored: int = 0  # services stored (members by value included)
    present: int = 0  # documents whose service was already held
    bad: list[tuple[int, str]] = field(default_factory=list)  # (number, what is wrong)


@dataclass
class Prepared:
    """A batch checked, planned and encoded (its rows and events as the driver takes them), waiting to be written."""

    at: datetime
    planned: list[tuple[Item, list[str], bulk.Rows]] = field(default_factory=list)  # the ids each document stores
    bad: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class BulkImport:
    services: Services
    emit_events: bool = True

    @property
    def store(self) -> Store:
        return self.services.store

    def _plan(self, item: Item) -> list[documents.NewService]:
        if not isinstance(item.body, dict):
            raise ValidationFailed("", "a Service_Create document must be a JSON object")
        self.services.check_create(item.body, quick=True)
        plan = self.services.plan_create(item.body, quick=True, fresh=True)
        ids = [s.id for s in plan]
        if len(set(ids)) != len(ids):
            raise ValidationFailed("id", "the document names one service id twice")
        return plan

    def prepare(self, ctx: RequestContext, items: list[Item], *, strict: bool = False) -> Prepared:
        """Check, plan and encode `items` (CPU only, no database): what `write` stores. Documents are taken apart."""
        prepared = Prepared(datetime.now(UTC))
        encoder = bulk.Encoder(self.store.db.engine.dialect, tenant=ctx.caller.tenant, actor=ctx.caller.identity,
                               correlation_id=ctx.correlation_id, now=prepared.at)
        ids = _EventIds()
        for item in items:
            try:
                plan = self._plan(item)
            except DomainError as exc:
                prepared.bad.append((item.number, exc.message))
                if strict:
                    break
                continue
            rows = encoder.services(_rows(plan))
            if self.emit_events:
                rows.extend(encoder.events(_events(ctx, plan, prepared.at, ids)))
            prepared.planned.append((item, [s.id for s in plan], rows))
        return prepared

    async def write(self, ctx: RequestContext, prepared: Prepared, *, strict: bool = False) -> Outcome:
        """Store what `prepare` planned, in one transaction; documents whose service is held are left alone."""
        out = Outcome(bad=list(prepared.bad))
        async with self.store.write(ctx.caller.scope) as uow:
            taken = await uow.services.existing_ids(id for _, ids, _ in prepared.planned for id in ids)
            rows = bulk.Rows()
            claimed: dict[str, int] = {}
            first_bad = min((n for n, _ in out.bad), default=None)
            for item, ids, item_rows in prepared.planned:
                if strict and first_bad is not None and item.number > first_bad:
                    break
                if ids[0] in taken:
                    out.present += 1
                    continue
                clash = next((id for id in ids if id in taken or id in claimed), None)
                if clash is not None:
                    where = f"line {claimed[clash]}" if clash in claimed else "the store"
                    out.bad.append((item.number, f"id: {clash!r} is already used by {where}"))
                    first_bad = item.number if first_bad is None else min(first_bad, item.number)
                    continue
                for id in ids:
                    claimed[id] = item.number
                rows.extend(item_rows)
            await bulk.write(uow.conn, rows)
            if rows.event:
                uow.outbox.written = True  # the store wakes a relay of this process after commit
            out.stored = len(rows.service)
        out.bad.sort()
        return out

    async def store_batch(self, ctx: RequestContext, items: list[Item], *, strict: bool = False) -> Outcome:
        """Check and store `items` in one transaction. Bad documents are reported (with `strict`, the batch
        stops at the first: what came before it is stored, nothing after it)."""
        return await self.write(ctx, self.prepare(ctx, items, strict=strict), strict=strict)


def _rows(plan: list[documents.NewService]) -> list[bulk.BulkService]:
    return [bulk.BulkService(s.id, s.doc, s.links, patching.creation(s.doc), s.doc.get("state")) for s in plan]


class _EventIds:
    """uuid4 event ids drawn from the system's random source many at a time (one call per 256, not per event)."""

    def __init__(self) -> None:
        self._pool: list[str] = []

    def __call__(self) -> str:
        if not self._pool:
            raw = os.urandom(16 * 256)
            self._pool = [str(uuid.UUID(bytes=raw[i:i + 16], version=4)) for i in range(0, len(raw), 16)]
        return self._pool.pop()


def _events(ctx: RequestContext, plan: list[documents.NewService], now: datetime,
            ids: _EventIds) -> list[bulk.BulkEvent]:
    """ServiceCreateEvents, members first (a listener learns of a bundle after its parts), as a create emits."""
    members: dict[str, dict[str, dict[str, Any]]] = {}
    for s in plan:
        if s.parent_id is not None:
            members.setdefault(s.parent_id, {})[s.id] = s.doc
    out = []
    for s in reversed(plan):
        rendered = documents.render(s.id, s.doc, ctx.service_href, members.get(s.id), fresh=True)
        ev = envelope.build("ServiceCreateEvent", rendered, correlation_id=ctx.correlation_id, at=now,
                            event_id=ids())
        out.append(bulk.BulkEvent(ev.event_id, ev.event_type, ev.correlation_id, ev.resource_type, ev.resource_id,
                                  ev.at, ev.payload))
    return out
