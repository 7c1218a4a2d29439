"""SQLite statements on the event loop's thread (store/sqlite_inloop.py): another process's write lock is waited
out without holding the loop, and given up after the busy timeout with SQLite's own error."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from store import db as store_db
from store import sqlite_inloop
from store.db import Database

WAIT = 60.0  # bound on waiting for the test's own steps (a loaded machine is slow), not a sleep
HOLD = 1.0  # how long the other writer keeps the lock while the loop is watched


async def _database(tmp_path: Path) -> Database:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inloop.db'}")
    async with database.transaction() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    return database


def _other_process_lock(path: Path) -> sqlite3.Connection:
    """A connection of its own holding the write lock, as another process's writer would."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t (id) VALUES (1)")
    return holder


async def _insert(database: Database, id: int) -> None:
    async with database.transaction() as conn:
        await conn.execute(text("INSERT INTO t (id) VALUES (:id)"), {"id": id})


async def test_a_writer_waits_for_another_process_s_lock_while_the_loop_runs_on(tmp_path: Path) -> None:
    database = await _database(tmp_path)
    holder = _other_process_lock(tmp_path / "inloop.db")
    ticks: list[float] = []
    held_long_enough = asyncio.Event()

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0.005)
            ticks.append(time.monotonic())
            if len(ticks) >= 20 and ticks[-1] - ticks[0] >= HOLD:
                held_long_enough.set()

    ticking = asyncio.create_task(ticker())
    try:
        writer = asyncio.create_task(_insert(database, 2))
        # While the lock is held elsewhere the writer waits, and the loop goes on serving other tasks: a writer
        # waiting in SQLite's own busy handler would hold the loop until the lock is free or its timeout is up.
        await asyncio.wait_for(held_long_enough.wait(), WAIT)
        assert not writer.done()
        holder.commit()
        await asyncio.wait_for(writer, WAIT)
    finally:
        ticking.cancel()
        holder.close()
    longest_pause = max(b - a for a, b in itertools.pairwise(ticks))
    assert longest_pause < HOLD / 2, longest_pause
    async with database.read() as conn:
        assert (await conn.execute(text("SELECT id FROM t ORDER BY id"))).scalars().all() == [1, 2]
    await database.dispose()


async def test_a_writer_gives_up_after_the_busy_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_db, "SQLITE_BUSY_SECONDS", 0.3)
    database = await _database(tmp_path)
    holder = _other_process_lock(tmp_path / "inloop.db")
    began = time.monotonic()
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            await asyncio.wait_for(_insert(database, 2), WAIT)
    finally:
        holder.rollback()
        holder.close()
    assert time.monotonic() - began >= 0.3
    await _insert(database, 3)  # the connection is still good once the lock is free
    await database.dispose()


async def test_sqlite_runs_the_statements_on_the_loop_s_thread(tmp_path: Path) -> None:
    database = await _database(tmp_path)

    def register(dbapi_conn: Any, _record: object) -> None:  # SQLite calls it where it runs the statement
        dbapi_conn.create_function("thread_of_statement", 0, threading.get_ident)

    event.listen(database.engine.sync_engine, "connect", register)
    await database.engine.dispose()  # connections from here on have the function
    async with database.transaction() as conn:
        in_write = (await conn.execute(text("SELECT thread_of_statement()"))).scalar_one()
    async with database.read() as conn:
        in_read = (await conn.execute(text("SELECT thread_of_statement()"))).scalar_one()
    assert in_write == in_read == threading.get_ident()
    await database.dispose()



async def test_when_not_busy_tries_again_only_what_busy_refused() -> None:
    refusals = [sqlite3.OperationalError("database is locked"),
                DBAPIError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))]  # as SQLAlchemy wraps it

    def flaky() -> str:
        if refusals:
            raise refusals.pop(0)
        return "read"

    assert await sqlite_inloop.when_not_busy(WAIT, flaky) == "read"
    assert not refusals

    def broken() -> None:
        raise sqlite3.OperationalError("no such table: nowhere")

    began = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await sqlite_inloop.when_not_busy(WAIT, broken)
    assert time.monotonic() - began < WAIT / 2  # raised at once, not tried again until the patience ran out


async def test_the_url_s_options_reach_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "inloop.db"
    database = await _database(tmp_path)
    await database.dispose()
    read_only = Database(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true&timeout=0.2")
    async with read_only.read() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    with pytest.raises(OperationalError, match="readonly"):  # opened read-only, as the URL asked
        async with read_only.engine.connect() as conn:
            await conn.execute(text("INSERT INTO t (id) VALUES (6)"))
    await read_only.dispose()


async def test_server_side_results_and_the_cursor_s_attributes(tmp_path: Path) -> None:
    """What SQLAlchemy's adaptation may ask of a cursor: streamed rows (fetchmany, iteration), the inserted
    row's id, the row count; and a closed connection refused with aiosqlite's words, which it translates."""
    database = await _database(tmp_path)
    async with database.transaction() as conn:
        await conn.execute(text("INSERT INTO t (id) VALUES (:id)"), [{"id": i} for i in range(10, 15)])
        inserted = await conn.execute(text("INSERT INTO t (id) VALUES (99)"))
        assert inserted.lastrowid == 99
        moved = await conn.execute(text("UPDATE t SET id = id + 100 WHERE id < 13"))
        assert moved.rowcount == 3
    async with database.read() as conn:
        streamed = await conn.stream(text("SELECT id FROM t ORDER BY id"))
        first = await streamed.fetchmany(2)
        rest = [row async for row in streamed]
        assert [r.id for r in [*first, *rest]] == [13, 14, 99, 110, 111, 112]
    connect = sqlite_inloop.connector(f"sqlite+aiosqlite:///{tmp_path / 'inloop.db'}", timeout=1)
    raw = await connect()
    cursor = raw.cursor()
    await cursor.execute("SELECT id FROM t WHERE id > ?", (100,))
    cursor.arraysize = 2
    assert cursor.arraysize == 2 and cursor.description[0][0] == "id"
    assert await cursor.fetchone() == (110,)
    assert await cursor.fetchmany() == [(111,), (112,)]
    assert await cursor.nextset() is None
    await cursor.close()
    await raw.close()
    with pytest.raises(ValueError, match="Connection closed"):
        raw.cursor()
    await database.dispose()
