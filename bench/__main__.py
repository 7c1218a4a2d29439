"""`make bench`: store N services in a temporary SQLite file and time creates and filtered, paged lists.

Usage: python -m bench [--services N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from store import migrate
from store.db import Database
from store.query_form import Condition, ListQuery, SortKey
from store.uow import Store

STATES = ("designed", "reserved", "inactive", "active")


def body(i: int) -> dict[str, object]:
    return {
        "name": f"svc-{i:06d}",
        "state": STATES[i % len(STATES)],
        "category": f"cat-{i % 7}",
        "startDate": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
        "serviceSpecification": {"id": f"spec-{i % 5}", "name": f"Spec{i % 5}"},
        "relatedParty": [{"id": f"party-{i % 50}", "role": "customer"}],
        "serviceCharacteristic": [{"name": "MSISDN", "value": f"+4470000{i:05d}"}],
    }


async def timed(label: str, runs: int, fn: object) -> None:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    p95 = sorted(samples)[int(runs * 0.95) - 1]
    print(f"{label:<48} median {statistics.median(samples):8.2f} ms   p95 {p95:8.2f} ms")


async def main(services: int, url: str) -> None:
    db = Database(url)
    await migrate.upgrade(db)
    api = Resolvers.build(Store(db))
    ctx = RequestContext()
    start = time.perf_counter()
    for i in range(services):
        await api.services.create(ctx, body(i))
    elapsed = time.perf_counter() - start
    print(f"created {services} services in {elapsed:.2f} s ({services / elapsed:.0f} creates/s, one request each)")
    queries = {
        "state=active, sort=-startDate, limit=20": ListQuery(
            (Condition(("state",), "eq", ("active",)),), (SortKey(("startDate",), True),), 0, 20),
        "relatedParty.id=party-7, limit=20": ListQuery((Condition(("relatedParty", "id"), "eq", ("party-7",)),),
                                                      limit=20),
        "startDate.gt=2026-06-01, offset=100, limit=50": ListQuery(
            (Condition(("startDate",), "gt", ("2026-06-01T00:00:00Z",)),), offset=100, limit=50),
        "serviceCharacteristic.value regex, limit=20": ListQuery(
            (Condition(("serviceCharacteristic", "value"), "regex", ("^\\+44700001",)),), limit=20),
    }
    for label, query in queries.items():
        await timed(label, 30, lambda q=query: api.services.search(ctx, q))
    await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(main(args.services, url))
