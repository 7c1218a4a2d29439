"""Renewing a runner's leases from a thread of its own: a busy event loop never makes a live runner lose one.

The keeper has its own thread, event loop and database connection, so renewal waits neither behind the
runner's work (its tasks, its connection pool) nor behind the event loop's backlog when the machine is
overloaded: the thread is scheduled by the interpreter every few milliseconds whatever the loop is doing.
It renews in one row order (the repository locks by id, skipping rows its own work is recording), retries
deadlock and serialisation failures, and tells the runner (thread-safely) which leases another runner took.
`sure(id)` answers from memory whether the last renewal still vouches for a lease.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from store.db import Database, transient_error
from store.uow import ALL_TENANTS, Store

log = logging.getLogger("tmf640.engine")

SURE_SHARE = 0.6  # a lease is taken as sure for this share of its length after the renewal that set it began


class LeaseKeeper:
    def __init__(
        self, database_url: str, owner: str, lease_seconds: float, on_lost: Callable[[set[str]], None],
    ) -> None:
        self.database_url = database_url
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.interval = max(0.05, lease_seconds / 4)
        self.on_lost = on_lost  # called on the runner's event loop
        self.renewal_retries = 0
        self.renewal_failures = 0
        self._lock = threading.Lock()
        self._sure: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- the runner's side (its event loop) ---------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"tmf640-leases-{self.owner}", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10)

    def hold(self, activation_id: str, since: float) -> None:
        """Renew this lease from now on (claimed at monotonic instant `since`)."""
        self.vouch(activation_id, since)

    def vouch(self, activation_id: str, since: float) -> None:
        """A renewal (or claim) that began at `since` succeeded."""
        with self._lock:
            self._sure[activation_id] = max(self._sure.get(activation_id, 0.0),
                                            since + self.lease_seconds * SURE_SHARE)

    def drop(self, activation_id: str) -> None:
        with self._lock:
            self._sure.pop(activation_id, None)

    def sure(self, activation_id: str) -> bool:
        with self._lock:
            return time.monotonic() < self._sure.get(activation_id, 0.0)

    # ---- the keeper's thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        db = Database(self.database_url)
        store = Store(db)
        try:
            while not self._stop.wait(self.interval):
                with self._lock:
                    ids = sorted(self._sure)
                if ids:
                    await self._renew(store, ids)
        finally:
            await db.dispose()

    async def _renew(self, store: Store, ids: list[str]) -> None:
        for attempt in range(5):
            began = time.monotonic()
            try:
                async with store.write(ALL_TENANTS) as uow:
                    until = datetime.now(UTC) + timedelta(seconds=self.lease_seconds)
                    lost = await uow.activations.renew(ids, self.owner, until)
            except Exception as exc:
                if transient_error(exc) and attempt < 4:
                    self.renewal_retries += 1
                    continue
                self.renewal_failures += 1
                log.exception("renewing leases failed")
                return
            with self._lock:
                for kept in set(ids) - lost:
                    if kept in self._sure:
                        self._sure[kept] = max(self._sure[kept], began + self.lease_seconds * SURE_SHARE)
                for gone in lost:
                    self._sure.pop(gone, None)
            if lost and self._loop is not None:
                self._loop.call_soon_threadsafe(self.on_lost, lost)
            return
