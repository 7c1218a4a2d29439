"""`tmf640 demo`: store the seeds' example services and activate them, showing each member's progress live."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any

import typer

from app.commands.options import with_settings
from app.settings import Settings

LATENCY = Annotated[int, typer.Option("--latency-ms", min=0, help="Simulated driver latency per step (ms), unless "
                                                                  "TMF640_DRIVER_CONFIG sets one")]
TIMEOUT = 120.0


@with_settings
def demo(settings: Settings, latency_ms: LATENCY = 600) -> None:
    """Load an FTTH access service with its resources and a mobile bundle of dependent members, and activate them."""
    asyncio.run(_run(settings, latency_ms))


async def _run(settings: Settings, latency_ms: int) -> None:
    from rich.console import Console
    from rich.live import Live

    from app.commands.demo_data import ftth, mobile
    from app.factory import engine_config
    from resolvers.activation.drivers import DriverRegistry
    from resolvers.api import Resolvers
    from resolvers.context import RequestContext
    from resolvers.rules import monitor_docs
    from store import migrate
    from store.db import Database
    from store.uow import Store

    console = Console()
    config = {k: dict(v) for k, v in settings.driver_config.items()}
    config.setdefault("simulated", {}).setdefault("latencyMs", latency_ms)
    db = Database(settings.database_url)
    await migrate.upgrade(db)
    resolvers = Resolvers.build(Store(db), lifecycle=settings.lifecycle, engine=engine_config(settings),
                                drivers=DriverRegistry(settings.drivers, config))
    await resolvers.engine.start()
    try:
        run = uuid.uuid4().hex[:6]
        monitors: dict[str, str] = {}
        for label, doc, correlation in (("FTTH access", ftth(run), "so-2026-00789"),
                                        ("mobile bundle", mobile(run), f"demo-mobile-{run}")):
            ctx = RequestContext(correlation_id=f"{correlation}-{run}" if label == "FTTH access" else correlation,
                                 base_url=settings.public_base_url or f"http://{settings.host}:{settings.port}")
            result = await resolvers.services.create(ctx, doc)
            assert result.monitor is not None
            monitors[label] = str(result.monitor["id"])
            console.print(f"[bold]{label}[/]: service {doc['id']}, monitor {result.monitor['id']}, "
                          f"correlation id {ctx.correlation_id}")
        deadline = time.monotonic() + TIMEOUT
        ctx = RequestContext()
        with Live(console=console, refresh_per_second=8) as live:
            while True:
                docs = {label: await resolvers.engine.monitor(ctx, mid) for label, mid in monitors.items()}
                live.update(_progress(docs, monitor_docs))
                if all(d is None or monitor_docs.is_final(d) for d in docs.values()) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
        console.print(f"done: see them with [bold]tmf640 services --database-url {settings.database_url}[/] "
                      "and [bold]tmf640 monitors[/]")
    finally:
        await resolvers.engine.stop()
        await db.dispose()


def _progress(docs: dict[str, dict[str, Any] | None], monitor_docs: Any) -> Any:
    from rich.table import Table

    table = Table(title="activation progress", title_justify="left")
    for column in ("request", "member", "action", "status", "state"):
        table.add_column(column)
    for label, doc in docs.items():
        if doc is None:
            continue
        summary = monitor_docs.summary_of(doc)
        table.add_row(f"[bold]{label}[/]", "", "", f"[bold]{doc.get('state')}[/]", str(summary.get("outcome", "")))
        for m in monitor_docs.member_statuses(doc):
            colour = {"completed": "green", "running": "yellow", "failed": "red"}.get(str(m.get("status")), "white")
            table.add_row("", str(m.get("id")), str(m.get("action") or ""), f"[{colour}]{m.get('status')}[/]",
                          str(m.get("state") or ""))
    return table
