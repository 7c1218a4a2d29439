"""`tmf640 prune`: one retention round now (what the server's periodic task does), then the counts."""

from __future__ import annotations

import asyncio

import typer

from app.commands.options import with_settings
from app.settings import Settings


@with_settings
def prune(settings: Settings) -> None:
    """Delete what retention no longer keeps (TMF640_RETENTION_*), in small batches, and say how much."""
    from app.factory import retention_config
    from resolvers.workers.pruner import Pruner
    from store.db import Database
    from store.uow import Store

    async def run() -> dict[str, int]:
        db = Database(settings.database_url)
        try:
            return await Pruner(Store(db), retention_config(settings)).prune()
        finally:
            await db.dispose()

    counts = asyncio.run(run())
    typer.echo(", ".join(f"{kind}: {n} deleted" for kind, n in counts.items()))
