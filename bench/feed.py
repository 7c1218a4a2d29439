"""A second process writing ServiceCreateEvents into a server's database at a set pace (the hub figure's input).

    python -m bench.feed DATABASE_URL START COUNT RATE

Stores services `bench-feed-START` ... as `tmf640 import` does (resolvers.bulk: a revision and a
ServiceCreateEvent each, in the outbox, in one transaction per batch), RATE per second in batches of a tenth of
a second (RATE 0: as fast as possible, batches of 500). The server's dispatcher finds them as it finds those of
another instance sharing the database. Prints `ready` once set up, then `done SECONDS LATE` (how far behind its
schedule it ended: the feeder itself must keep up for the figure to mean anything).
"""

from __future__ import annotations

import asyncio
import sys
import time

from bench.figures import document


async def feed(url: str, start: int, count: int, rate: float) -> None:
    from resolvers.api import Resolvers
    from resolvers.bulk import BulkImport, Item
    from resolvers.context import Caller, RequestContext
    from store.db import Database
    from store.uow import Store

    db = Database(url)
    try:
        importer = BulkImport(Resolvers.build(Store(db)).services)
        ctx = RequestContext(caller=Caller(identity="bench-feed"), base_url="http://127.0.0.1",
                             correlation_id="bench-feed")
        size = max(1, round(rate / 10)) if rate else 500
        print("ready", flush=True)
        began = time.perf_counter()
        late = 0.0
        for n, first in enumerate(range(start, start + count, size)):
            if rate:
                due = began + n * size / rate
                late = max(late, time.perf_counter() - due)
                await asyncio.sleep(max(0.0, due - time.perf_counter()))  # paced input: the figure's premise
            items = [Item(i, {"id": f"bench-feed-{i:07d}", **document(i)})
                     for i in range(first, min(first + size, start + count))]
            await importer.store_batch(ctx, items)
        print(f"done {time.perf_counter() - began:.3f} {late:.3f}", flush=True)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(feed(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
