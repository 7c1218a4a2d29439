"""The unit of work handed to resolvers: one connection, one transaction, every repository on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from store.activations import ActivationRepository
from store.db import Database
from store.monitors import MonitorRepository
from store.outbox import OutboxRepository
from store.services import ServiceRepository


class UnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.services = ServiceRepository(conn)
        self.monitors = MonitorRepository(conn)
        self.outbox = OutboxRepository(conn)
        self.activations = ActivationRepository(conn)


class Store:
    """What resolvers hold: `write()` commits the block whole or not at all; `read()` never writes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.transaction() as conn:
            yield UnitOfWork(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        async with self.db.read() as conn:
            yield UnitOfWork(conn)
