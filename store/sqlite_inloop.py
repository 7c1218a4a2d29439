"""SQLite for the async engine without a thread per connection: statements run on the event loop's thread.

aiosqlite runs each connection in a thread of its own and hands every call over to it: a statement costs
SQLAlchemy three or four hand-overs (cursor, execute, fetch, close), about 0.5 ms of CPU on a small machine,
ten times what SQLite spends on it. Here the same calls run at once, in the loop's thread: SQLAlchemy's aiosqlite
dialect is kept whole (its types, its greenlet adaptation) and is handed these connections through
`create_async_engine(async_creator=...)` instead of aiosqlite's.

What made the thread worth having is handled here:
- Waiting for a lock. SQLite's busy handler sleeps in the calling thread (it would stall the loop), so these
  connections have none; a statement refused as busy (another process holds the write lock) is tried again
  after an `asyncio.sleep`, with a growing pause, for as long as SQLite's busy timeout would have waited.
  Writers of one process queue on its write lock before BEGIN IMMEDIATE (`Database.transaction`), so within
  a process nothing waits.
- Long statements. A statement holds the loop while SQLite runs it. The server's statements are indexed
  lookups and bounded pages, and the Python work around each result holds the loop (and the GIL) longer than
  SQLite does. The synchronous engine of one-statement reads (`Database.run_read`) is used the same way.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import make_url
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

# SQLITE_BUSY_SNAPSHOT: a read transaction's snapshot is too old to write from; trying the statement again
# cannot help (the transaction must start over), so it is raised at once.
_BUSY_SNAPSHOT = 517
_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.05
T = TypeVar("T")


def busy(exc: BaseException) -> bool:
    """True when SQLite refused a statement because another connection holds the lock it needs (SQLAlchemy's
    wrapper of the error included); trying the same statement again later can succeed."""
    orig = getattr(exc, "orig", None) or exc
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code: int | None = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY and code != _BUSY_SNAPSHOT
    return "database is locked" in str(orig)


async def when_not_busy(patience: float, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, tried again while SQLite answers busy, pausing without holding the loop, until
    `patience` seconds have passed (then SQLite's error is raised)."""
    deadline: float | None = None
    pause = _FIRST_PAUSE
    while True:
        try:
            return function(*args)
        except Exception as exc:
            if not busy(exc):
                raise
            now = time.monotonic()
            deadline = deadline if deadline is not None else now + patience
            if now >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


class Cursor:
    """The async cursor SQLAlchemy's aiosqlite adaptation expects, over a sqlite3 cursor."""

    def __init__(self, owner: Connection) -> None:
        self._owner = owner
        self._cursor = owner._open().cursor()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await self._owner._call(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        await self._owner._call(self._cursor.executemany, sql, list(seq_of_parameters))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class _Calls:
    """Stands in for aiosqlite's queue of calls to its thread, which SQLAlchemy's adaptation uses directly to
    set the isolation level: the call is made at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class Connection:
    """The async connection SQLAlchemy's aiosqlite adaptation expects, over a sqlite3 connection used only
    from the event loop's thread."""

    def __init__(self, conn: sqlite3.Connection, timeout: float) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._timeout = timeout
        self._tx = _Calls(conn)

    @property
    def _connection(self) -> sqlite3.Connection | None:  # aiosqlite's name: None once closed
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")
        return self._conn

    async def _call(self, function: Callable[..., Any], *args: Any) -> Any:
        return await when_not_busy(self._timeout, function, *args)

    def cursor(self) -> Cursor:
        return Cursor(self)

    async def commit(self) -> None:
        await self._call(self._open().commit)

    async def rollback(self) -> None:
        await self._call(self._open().rollback)

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._open().create_function(*args, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()


def connector(url: str, timeout: float) -> Callable[[], Any]:
    """The `async_creator` of an engine on the SQLite database of `url`, its options read as SQLAlchemy reads
    them (`?uri=true` included). Its statements wait out a busy database for `?timeout=` seconds if the URL
    says, else `timeout`."""
    args, read = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    options: dict[str, Any] = dict(read)
    patience = float(options.pop("timeout", timeout))
    # No busy handler in SQLite itself (it would sleep in the loop's thread): Connection._call waits.
    options.update(timeout=0, isolation_level=None, check_same_thread=False)

    async def connect() -> Connection:
        return Connection(sqlite3.connect(args[0], **options), patience)

    return connect
