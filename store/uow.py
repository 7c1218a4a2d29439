"""The unit of work handed to resolvers: one connection, one transaction, every repository on it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from store.activation_repo import ActivationRepository
from store.db import Database
from store.hubs import HubRepository
from store.monitors import MonitorRepository
from store.outbox import OutboxRepository
from store.reads import ServiceView, service_view
from store.retention import RetentionRepository
from store.services import ServiceRepository

log = logging.getLogger("tmf640.store")


# The scope of a unit of work that sees every tenant: background workers and operators of every tenant.
ALL_TENANTS: None = None


class UnitOfWork:
    """Repositories on one connection, each confined to `tenant` (None: every tenant).

    The tenant filter lives here, in the repositories, so that no resolver can forget it: a row of another
    tenant is simply not found, and a row this unit of work inserts belongs to its tenant.
    """

    def __init__(self, conn: AsyncConnection, tenant: str | None) -> None:
        self.conn = conn
        self.tenant = tenant
        self.services = ServiceRepository(conn, tenant)
        self.monitors = MonitorRepository(conn, tenant)
        self.outbox = OutboxRepository(conn, tenant)
        self.hubs = HubRepository(conn, tenant)
        self.activations = ActivationRepository(conn, tenant)
        self.retention = RetentionRepository(conn)  # every tenant's rows: retention is the operator's


class Store:
    """What resolvers hold: `write()` commits the block whole or not at all; `read()` never writes.

    Both take the tenant the block is confined to (`ALL_TENANTS` for background work): a required argument,
    so that a new caller cannot forget to say whose rows it works on.
    """

    def __init__(self, db: Database, *, on_events: list[Callable[[], None]] | None = None) -> None:
        self.db = db
        self._on_events: list[Callable[[], None]] = on_events if on_events is not None else []
        self._workers: Store | None = None

    def for_workers(self) -> Store:
        """This store over the database's workers' pool (Database.for_workers), for background work: client
        requests never take its connections. Commits through it wake the same hooks (the relay)."""
        if self.db.for_workers() is self.db:
            return self
        if self._workers is None:
            self._workers = Store(self.db.for_workers(), on_events=self._on_events)
        return self._workers

    def on_events_committed(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every commit that wrote outbox events (the relay's wake-up; it must not block)."""
        self._on_events.append(callback)

    @asynccontextmanager
    async def write(self, tenant: str | None) -> AsyncIterator[UnitOfWork]:
        async with self.db.transaction() as conn:
            uow = UnitOfWork(conn, tenant)
            yield uow
            await uow.outbox.flush()  # the transaction's events, in one statement, before the commit
        if uow.outbox.written:
            for callback in self._on_events:
                try:
                    callback()
                except Exception:  # a wake-up hook must never fail a committed write
                    log.exception("events-committed hook failed")

    async def service_view(self, tenant: str | None, id: str) -> ServiceView | None:
        """One service of `tenant` (None: any) for `GET /service/{id}`, in one statement outside any
        transaction (store.reads)."""
        return await self.db.run_read(partial(service_view, tenant=tenant, id=id))

    @asynccontextmanager
    async def side_write(self) -> AsyncIterator[UnitOfWork]:
        """A write on a connection of its own (Database.side_transaction): for leases, never for events.

        Background work only, so it spans every tenant."""
        async with self.db.side_transaction() as conn:
            yield UnitOfWork(conn, ALL_TENANTS)

    @asynccontextmanager
    async def read(self, tenant: str | None) -> AsyncIterator[UnitOfWork]:
        async with self.db.read() as conn:
            yield UnitOfWork(conn, tenant)
