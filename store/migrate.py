"""Apply Alembic migrations to a database: `tmf640 migrate` and server start-up both call `upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _upgrade(connection: Connection, url: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision, inside one transaction (PostgreSQL DDL is transactional)."""
    async with db.engine.connect() as conn:
        if db.is_postgres:
            # Several servers may start at once: one migrates, the others wait for it.
            await conn.exec_driver_sql("SELECT pg_advisory_lock(640640)")
        try:
            await conn.run_sync(_upgrade, db.url)
            await conn.commit()
        finally:
            if db.is_postgres:
                await conn.exec_driver_sql("SELECT pg_advisory_unlock(640640)")
                await conn.commit()
