"""PostgreSQL LISTEN/NOTIFY bus backend (asyncpg), for several server processes on one database.

A notification carries only the highest seq of what a relay published. The listening process reads the
rows after the last seq it fanned out, up to that seq, from the outbox: the payload size limit of NOTIFY
never applies, duplicate or coalesced notifications are harmless, and since `seq` order is commit order
(store.outbox) every row up to a notified seq is already committed and visible.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import asyncpg

from store.bus import BusBackend
from store.db import Database
from store.outbox import OutboxEvent, OutboxRepository

DEFAULT_CHANNEL = "tmf640_events"
APPLICATION_NAME = "tmf640-bus"  # how operators find the LISTEN connections in pg_stat_activity
PING_SECONDS = 5.0  # a silent LISTEN connection is checked this often, so a dead one is noticed
READ_BATCH = 500
_LOST = -1  # queued by the termination listener: the connection is gone


class PostgresBackend(BusBackend):
    def __init__(self, dsn: str, db: Database, *, channel: str = DEFAULT_CHANNEL) -> None:
        if not db.is_postgres:
            raise ValueError("the postgresql bus reads events from the outbox: TMF640_DATABASE_URL must be "
                             "the same PostgreSQL database")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", channel):
            raise ValueError(f"bus channel {channel!r} must be a lower-case SQL identifier")
        self.dsn = dsn
        self.db = db
        self.channel = channel
        self._conn: Any = None
        self._lock = asyncio.Lock()  # asyncpg runs one statement at a time per connection
        self._notified: asyncio.Queue[int] = asyncio.Queue()
        self._last = 0

    @classmethod
    def from_url(cls, url: str, db: Database) -> PostgresBackend:
        """`postgresql://user@host/db?channel=name`; without a host, the database URL's own server."""
        parts = urlsplit(url)
        options = dict(parse_qsl(parts.query))
        channel = options.pop("channel", DEFAULT_CHANNEL)
        if parts.netloc:
            dsn = urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))
        else:
            own = urlsplit(db.url)
            dsn = urlunsplit(("postgresql", own.netloc, own.path, own.query, ""))
        return cls(dsn, db, channel=channel)

    async def connect(self) -> None:
        self._notified = asyncio.Queue()
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": APPLICATION_NAME})
        try:
            await conn.add_listener(self.channel, self._on_notify)
            conn.add_termination_listener(self._on_lost)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        # Start at the outbox's end: whoever subscribes from now on replays older events from the outbox.
        self._last = await self._last_seq()

    async def disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.remove_termination_listener(self._on_lost)
            await conn.close()

    async def publish(self, events: Sequence[OutboxEvent]) -> None:
        if not events:
            return
        if self._conn is None:
            raise ConnectionError("the PostgreSQL bus is not connected")
        async with self._lock:
            await self._conn.execute("SELECT pg_notify($1, $2)", self.channel, str(max(e.seq for e in events)))

    async def next_published(self) -> list[OutboxEvent]:
        while True:
            try:
                async with asyncio.timeout(PING_SECONDS):  # not wait_for: it can swallow a cancel on 3.11
                    seq = await self._notified.get()
            except TimeoutError:
                await self._ping()
                continue
            pending = [seq]
            while not self._notified.empty():
                pending.append(self._notified.get_nowait())
            if _LOST in pending:
                raise ConnectionError("the LISTEN connection to PostgreSQL was lost")
            seq = max(pending)
            if seq <= self._last:
                continue
            events = await self._read(self._last, seq)
            self._last = seq
            if events:
                return events

    # ---- helpers -----------------------------------------------------------------------------------------

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload.isdigit():
            self._notified.put_nowait(int(payload))

    def _on_lost(self, _conn: Any) -> None:
        self._notified.put_nowait(_LOST)

    async def _ping(self) -> None:
        if self._conn is None or self._conn.is_closed():
            raise ConnectionError("the LISTEN connection to PostgreSQL is closed")
        async with self._lock:
            await self._conn.execute("SELECT 1")

    async def _last_seq(self) -> int:
        async with self.db.read() as conn:
            return await OutboxRepository(conn).last_seq()

    async def _read(self, after: int, upto: int) -> list[OutboxEvent]:
        out: list[OutboxEvent] = []
        async with self.db.read() as conn:
            repo = OutboxRepository(conn)
            while True:
                batch = await repo.after(after, READ_BATCH, upto=upto)
                out.extend(batch)
                if len(batch) < READ_BATCH:
                    return out
                after = batch[-1].seq
