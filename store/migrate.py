"""Apply Alembic migrations to a database: `tmf640 migrate` and server start-up both call `upgrade`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

# alembic (and mako) load only when a migration runs or the head is first asked for: a faster cold start.
_HEADS: set[str] | None = None

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _upgrade(connection: Connection, url: str) -> None:
    from alembic import command

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


def heads() -> set[str]:
    """The newest revisions the code knows (read once)."""
    global _HEADS
    if _HEADS is None:
        from alembic.script import ScriptDirectory

        _HEADS = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return _HEADS


async def applied(db: Database) -> set[str]:
    """The revisions recorded in the database (empty before the first migration)."""
    async with db.read() as conn:
        try:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        except Exception:
            await conn.rollback()
            raise
    return {str(r) for r in rows}


async def pending(db: Database) -> bool:
    """True when the database is behind the code's migrations."""
    return await applied(db) != heads()
