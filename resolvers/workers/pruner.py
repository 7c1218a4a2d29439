"""Retention: a background task (and `tmf640 prune`) deleting what no one needs any more, in small batches.

Each batch is its own short write transaction (store.retention says what each kind keeps), and the task yields
between batches, so request writers wait at most one batch. Every `interval` seconds; 0 runs no task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from resolvers import telemetry
from store.retention import RetentionRepository
from store.uow import ALL_TENANTS, Store

log = logging.getLogger("tmf640.retention")
KINDS = ("outbox", "deliveries", "revisions", "activations", "monitors")


@dataclass(frozen=True)
class RetentionConfig:
    """Seconds each kind of row is kept (0: for ever), rows per transaction, seconds between rounds."""

    outbox: float = 604_800.0
    deliveries: float = 604_800.0
    revisions: float = 7_776_000.0
    activations: float = 2_592_000.0
    monitors: float = 2_592_000.0
    batch: int = 500
    interval: float = 300.0


class Pruner:
    def __init__(self, store: Store, config: RetentionConfig) -> None:
        self.store = store
        self.config = config
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.config.interval > 0:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="tmf640-pruner")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            _, late = await asyncio.wait({self._task}, timeout=10.0)
            for task in late:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.interval):
                    await self._stopping.wait()
            if self._stopping.is_set():
                return
            try:
                await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away: try again next round
                log.exception("pruning failed")

    async def prune(self, now: datetime | None = None) -> dict[str, int]:
        """One round over every kind; how many rows of each were deleted."""
        now = now or datetime.now(UTC)
        counts: dict[str, int] = {}
        for kind in KINDS:
            keep = float(getattr(self.config, kind))
            if keep <= 0:
                counts[kind] = 0
                continue
            counts[kind] = await self._kind(kind, now - timedelta(seconds=keep))
            if counts[kind]:
                telemetry.PRUNED.labels(kind=kind).inc(counts[kind])
        if any(counts.values()):
            log.info("pruned %s", ", ".join(f"{n} {k}" for k, n in counts.items() if n),
                     extra={"event": "pruned", **{f"pruned_{k}": n for k, n in counts.items()}})
        return counts

    async def _kind(self, kind: str, before: datetime) -> int:
        total, limit = 0, self.config.batch
        while not self._stopping.is_set():
            async with self.store.write(ALL_TENANTS) as uow:
                deleted = await self._batch(uow.retention, kind, before, limit)
            total += deleted
            if deleted < limit:
                return total
            await asyncio.sleep(0)  # let waiting writers in between batches
        return total

    @staticmethod
    async def _batch(repo: RetentionRepository, kind: str, before: datetime, limit: int) -> int:
        if kind == "outbox":
            return await repo.outbox(before, await repo.outbox_floor(), limit)
        deleted: int = await getattr(repo, kind)(before, limit)
        return deleted
