"""Engine, connections and transactions. SQLite (WAL; statements on the loop's thread, store/sqlite_inloop.py) by
default, PostgreSQL through asyncpg."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from store import sqlite_inloop
from store.errors import MissingDriver
from store.patterns import regexp

WRITE_OPTION = "tmf640_write"
SQLITE_BUSY_SECONDS = 30.0  # how long a SQLite statement waits for another process's write lock
T = TypeVar("T")
log = logging.getLogger("tmf640.db")
# The synchronous engine each SQLite Database reads through (`Database.run_read`), by its async engine's sync
# side, so that tools counting statements (tests/sqlcount.py) find both.
_READ_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def read_engines(engine: AsyncEngine) -> list[Engine]:
    """The engines statements of `engine`'s Database go through: its own, and its SQLite read engine."""
    companion = _READ_ENGINES.get(engine.sync_engine)
    return [engine.sync_engine, *([companion] if companion is not None else [])]


def _sqlite_pragmas(dbapi_conn: Any) -> None:
    """Every SQLite connection's settings. None has a busy handler (opened with `timeout=0`: it would sleep in
    the loop's thread); a busy database is waited out by `sqlite_inloop.when_not_busy`."""
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below), or none at all on one-statement reads
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
    # REGEXP in linear time (RE2), replacing the backtracking `re` function SQLAlchemy registers.
    dbapi_conn.create_function("regexp", 2, regexp, deterministic=True)


def make_read_engine(url: str) -> Engine:
    """A synchronous SQLite engine on the same file, for reads of one statement called straight from the loop
    (`Database.run_read`), without the async adaptation's greenlet and cursor wrappers.

    Its connections run in autocommit (no BEGIN): what reads through it is one statement, atomic by itself.
    """
    sync_url = make_url(url).set(drivername="sqlite+pysqlite")
    engine = create_engine(sync_url, pool_size=4, max_overflow=4, isolation_level="AUTOCOMMIT",
                           connect_args={"timeout": 0, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_conn)

    return engine


POSTGRES_SCHEMES = ("postgresql", "postgres")


def require_driver(url: str) -> None:
    """Raise MissingDriver when `url` is PostgreSQL's and its driver (the `postgres` extra) is not installed."""
    if url.split(":", 1)[0].split("+")[0] in POSTGRES_SCHEMES and importlib.util.find_spec("asyncpg") is None:
        raise MissingDriver(url)


# Connections of the pool client requests share, and of the one background workers share (Database.for_workers).
CLIENT_POOL = {"sqlite": (5, 10), "postgresql": (10, 20)}
WORKER_POOL = {"sqlite": (3, 3), "postgresql": (4, 6)}


def make_engine(url: str, *, echo: bool = False, workers: bool = False) -> AsyncEngine:
    """An async engine for `url`; SQLite files get WAL, foreign keys and a busy timeout on every connection.

    `workers`: the smaller pool of background workers (Database.for_workers)."""
    sizes = WORKER_POOL if workers else CLIENT_POOL
    require_driver(url)
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/").endswith("sqlite+aiosqlite:"):
            raise ValueError("SQLite needs a file path: an in-memory database is a different one on each connection")
        size, overflow = sizes["sqlite"]
        # Statements run on the loop's thread (store/sqlite_inloop.py), which waits out a busy database itself.
        engine = create_async_engine(url, echo=echo, pool_size=size, max_overflow=overflow,
                                     async_creator=sqlite_inloop.connector(url, timeout=SQLITE_BUSY_SECONDS))

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            _sqlite_pragmas(dbapi_conn)

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # Writers take the write lock at BEGIN, so two writers never deadlock upgrading a read lock.
            write = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    size, overflow = sizes["postgresql"]
    return create_async_engine(url, echo=echo, pool_size=size, max_overflow=overflow, pool_pre_ping=True)


class Database:
    """Owns the engine. `transaction()` is the unit of work: the caller's block commits or rolls back whole."""

    def __init__(self, url: str, *, echo: bool = False, parent: Database | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo, workers=parent is not None)
        self._parent = parent
        self._workers: Database | None = None
        # SQLite has one writer at a time; writers of this process queue here before BEGIN IMMEDIATE (those of
        # other processes are waited out by sqlite_inloop.when_not_busy).
        self._write_lock: asyncio.Lock | None = parent._write_lock if parent is not None else (
            asyncio.Lock() if not self.is_postgres else None)
        self._side: AsyncEngine | None = None  # PostgreSQL: connections kept apart for background bookkeeping
        # PostgreSQL: every connection this Database opened, so that none outlives `dispose` (below).
        self._opened: weakref.WeakSet[Any] = weakref.WeakSet()
        if self.is_postgres:
            _track(self.engine, self._opened)
        # SQLite reads of one statement run on a synchronous engine, straight from the loop (`run_read`);
        # PostgreSQL runs them on asyncpg in autocommit.
        self.read_engine: Engine | None = None
        if not self.is_postgres:
            read_engine = parent.read_engine if parent is not None else None
            self.read_engine = read_engine or make_read_engine(url)
            _READ_ENGINES[self.engine.sync_engine] = self.read_engine

    def for_workers(self) -> Database:
        """The same database through a pool of its own, for background workers (outbox relay, hub dispatcher,
        activation runner): however many connections client requests (subscriptions, reads) hold, the workers
        still get theirs. It shares this one's writer queue (SQLite) and is disposed with it."""
        if self._parent is not None:
            return self
        if self._workers is None:
            self._workers = Database(self.url, parent=self)
        return self._workers

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
            _track(self._side, self._opened)
        async with self._side.connect() as conn, conn.begin():
            yield conn

    async def run_read(self, fn: Callable[[Connection], T]) -> T:
        """`fn(connection)` outside any transaction: for reads of one statement (atomic by themselves).

        On SQLite `fn` runs at once on the synchronous read engine (a busy database waited out without holding
        the loop); on PostgreSQL in autocommit on the async engine (SQLAlchemy runs `fn` in a greenlet there).
        """
        if self.read_engine is None:
            async with self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                return await conn.run_sync(fn)
        return await sqlite_inloop.when_not_busy(SQLITE_BUSY_SECONDS, _on_read_connection, self.read_engine, fn)

    async def dispose(self) -> None:
        if self._workers is not None:
            await self._workers.dispose()
            self._workers = None
        await self.engine.dispose()
        if self._side is not None:
            await self._side.dispose()
        if self.read_engine is not None and self._parent is None:
            self.read_engine.dispose()
        self._close_stragglers()

    def _close_stragglers(self) -> None:
        """Close the connections still checked out: `engine.dispose()` leaves them to their holder, and one
        given back later goes into the discarded pool, open until the garbage collector finds it (asyncpg then
        warns of an unclosed connection). Whatever still holds one at this point outlived the server's stop."""
        open_ = [c for c in list(self._opened) if not c.is_closed()]
        if open_:
            log.warning("%d database connection(s) still in use when the database was closed: terminated",
                        len(open_), extra={"event": "connections_left_open", "count": len(open_)})
        for conn in open_:
            conn.terminate()


def _track(engine: AsyncEngine, opened: weakref.WeakSet[Any]) -> None:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        opened.add(dbapi_connection.driver_connection)

    event.listen(engine.sync_engine, "connect", on_connect)


def _on_read_connection(engine: Engine, fn: Callable[[Connection], T]) -> T:
    with engine.connect() as conn:
        return fn(conn)


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
