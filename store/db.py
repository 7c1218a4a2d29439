"""Engine, connections and transactions. SQLite (aiosqlite, WAL) by default, PostgreSQL through asyncpg."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from store.patterns import regexp

WRITE_OPTION = "tmf640_write"


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for `url`; SQLite files get WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/").endswith("sqlite+aiosqlite:"):
            raise ValueError("SQLite needs a file path: in-memory databases share one connection under aiosqlite")
        engine = create_async_engine(url, echo=echo, pool_size=5, max_overflow=10, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            # REGEXP in linear time (RE2), replacing the backtracking `re` function SQLAlchemy registers.
            dbapi_conn.create_function("regexp", 2, regexp, deterministic=True)

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock at BEGIN, so two writers never deadlock upgrading a read lock.
            write = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """Owns the engine. `transaction()` is the unit of work: the caller's block commits or rolls back whole."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        # SQLite has one writer at a time; writers of this process queue here instead of in SQLite's busy
        # handler, which sleeps up to 100 ms between retries (other processes still meet the busy timeout).
        self._write_lock = asyncio.Lock() if not self.is_postgres else None
        self._side: AsyncEngine | None = None  # PostgreSQL: connections kept apart for background bookkeeping

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer(), self.engine.connect() as conn:
            await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def ping(self) -> None:
        """Raise unless the database answers; a SQLite file that was moved or deleted counts as gone (the open
        connections would otherwise go on writing to the unlinked file)."""
        if not self.is_postgres:
            path = self.engine.url.database
            if path and not os.path.exists(path):  # noqa: ASYNC240  (one stat, cheaper than a thread hop)
                raise FileNotFoundError(f"the SQLite database file {path} is missing")
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    @asynccontextmanager
    async def side_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction on a connection that client load and background work cannot take away (PostgreSQL:
        a small pool of its own), for what must not wait behind them, such as renewing leases. SQLite has one
        writer at a time anyway: there it is an ordinary transaction."""
        if not self.is_postgres:
            async with self.transaction() as conn:
                yield conn
            return
        if self._side is None:
            self._side = create_async_engine(self.url, pool_size=2, max_overflow=0, pool_pre_ping=True)
        async with self._side.connect() as conn, conn.begin():
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._side is not None:
            await self._side.dispose()


# SQLSTATEs worth trying again: serialization_failure, deadlock_detected, lock_not_available.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def transient_error(exc: BaseException) -> bool:
    """True for a database error that succeeds when the transaction is simply run again (deadlock victim,
    serialisation failure, SQLite busy)."""
    orig = getattr(exc, "orig", None) or exc
    for attr in ("sqlstate", "pgcode"):
        if getattr(orig, attr, None) in TRANSIENT_SQLSTATES:
            return True
    text = f"{type(orig).__name__}: {orig}"
    return any(word in text for word in ("DeadlockDetected", "SerializationError", "database is locked"))
