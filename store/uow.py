"""The unit of work handed to resolvers: one connection, one transaction, every repository on it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from store.activation_repo import ActivationRepository
from store.db import Database
from store.hubs import HubRepository
from store.monitors import MonitorRepository
from store.outbox import OutboxRepository
from store.retention import RetentionRepository
from store.services import ServiceRepository

log = logging.getLogger("tmf640.store")


class UnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.services = ServiceRepository(conn)
        self.monitors = MonitorRepository(conn)
        self.outbox = OutboxRepository(conn)
        self.hubs = HubRepository(conn)
        self.activations = ActivationRepository(conn)
        self.retention = RetentionRepository(conn)


class Store:
    """What resolvers hold: `write()` commits the block whole or not at all; `read()` never writes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._on_events: list[Callable[[], None]] = []

    def on_events_committed(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every commit that wrote outbox events (the relay's wake-up; it must not block)."""
        self._on_events.append(callback)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.transaction() as conn:
            uow = UnitOfWork(conn)
            yield uow
        if uow.outbox.written:
            for callback in self._on_events:
                try:
                    callback()
                except Exception:  # a wake-up hook must never fail a committed write
                    log.exception("events-committed hook failed")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.read() as conn:
            yield UnitOfWork(conn)
