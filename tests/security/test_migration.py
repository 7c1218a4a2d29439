"""Migration 0005 gives rows written before tenants the tenant `default` (the anonymous development caller's)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from store.db import Database
from store.migrate import alembic_config


def _to(revision: str, url: str) -> object:
    def run(connection: Connection) -> None:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    return run


async def test_existing_rows_get_the_default_tenant(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            await conn.run_sync(_to("0003", url))  # type: ignore[arg-type]
            await conn.execute(text(
                "INSERT INTO service (id, doc, version, created_at, updated_at) "
                "VALUES ('old', '{}', 1, '2026-01-01', '2026-01-01')"))
            await conn.execute(text(
                "INSERT INTO hub_listener (id, callback, owner, state, cursor, attempts, created_at, updated_at) "
                "VALUES ('h', 'http://x.example/', 'someone', 'active', 0, 0, '2026-01-01', '2026-01-01')"))
            await conn.commit()
            await conn.run_sync(_to("head", url))  # type: ignore[arg-type]
            await conn.commit()
            service = (await conn.execute(text("SELECT tenant FROM service WHERE id = 'old'"))).scalar_one()
            hub = (await conn.execute(text("SELECT tenant FROM hub_listener WHERE id = 'h'"))).scalar_one()
        assert (service, hub) == ("default", "default")
    finally:
        await db.dispose()
