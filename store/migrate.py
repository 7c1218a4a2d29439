"""Apply Alembic migrations to a database: `tmf640 migrate` and server start-up both call `upgrade`.

When nothing is pending, `upgrade` costs one query (the revision stored in `alembic_version`, compared with the
heads read from the revision files) and Alembic is never imported: a server starts without loading it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from store.db import Database

if TYPE_CHECKING:
    from alembic.config import Config


MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"^revision\s*(?::\s*str\s*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]+)?=\s*(.+)$", re.MULTILINE)


def alembic_config(url: str = "") -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


@cache
def heads() -> frozenset[str]:
    """The head revisions, read from the revision files as text (no Alembic import): every revision that no
    other revision names as its down_revision. Empty when the files cannot be read this way."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN.search(source)
        if found is None or down is None:
            return frozenset()  # a revision file written some other way: let Alembic decide
        revisions.add(found.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions - parents)


def _upgrade(connection: Connection, url: str) -> None:
    from alembic import command

    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


async def at_head(db: Database) -> bool:
    """Whether the database already stands at the heads of the revision files: one query."""
    wanted = heads()
    if not wanted:
        return False
    try:
        async with db.engine.connect() as conn:
            stored = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except DBAPIError:  # no alembic_version table yet: a new database
        return False
    return frozenset(stored) == wanted


async def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision, inside one transaction (PostgreSQL DDL is transactional)."""
    if await at_head(db):
        return
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
    return not await at_head(db)
