"""Probes: live answers while the process runs; ready follows the database (gone: 503, back: 200)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests import pg
from tests.conftest import BACKENDS
from tests.events.support import event_settings, eventually, running

WITHIN = 30.0


async def _ready(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/health/ready")
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def _is(client: httpx.AsyncClient, status: int) -> bool:
    return (await _ready(client))[0] == status


async def test_live_and_ready_report_every_part(database_url: str) -> None:
    async with running(event_settings(database_url)) as r:
        assert (await r.client.get("/health/live")).json() == {"status": "live"}
        status, body = await _ready(r.client)
        assert status == 200 and body["status"] == "ready", body
        assert set(body["checks"]) >= {"database", "migrations", "bus", "relay", "dispatcher", "runner"}
        assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.skipif("sqlite" not in BACKENDS, reason="SQLite not among TMF640_TEST_BACKENDS")
async def test_ready_follows_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "ready.db"
    settings = event_settings(f"sqlite+aiosqlite:///{path}", migrate_on_start=True)
    async with running(settings) as r:
        assert await _is(r.client, 200)
        os.rename(path, tmp_path / "elsewhere.db")  # the volume went away
        status, body = await _ready(r.client)
        assert status == 503 and body["status"] == "unready"
        assert not body["checks"]["database"]["ok"] and "missing" in body["checks"]["database"]["error"]
        assert (await r.client.get("/health/live")).status_code == 200  # the process itself is fine
        os.rename(tmp_path / "elsewhere.db", path)
        await eventually(lambda: _is(r.client, 200), within=WITHIN, what="ready again")


def _pg_ctl(cluster: pg.Cluster, *args: str) -> None:
    subprocess.run([*cluster.run_as, pg.find_bin("pg_ctl") or "pg_ctl", "-D", str(cluster.root / "data"), *args],
                   check=True, capture_output=True)


@pytest.mark.skipif("postgres" not in BACKENDS, reason="PostgreSQL not among TMF640_TEST_BACKENDS")
async def test_ready_follows_postgresql_stopped_and_started() -> None:
    if not pg.available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing on CI")
        pytest.skip("PostgreSQL server binaries are not installed")
    cluster = await asyncio.to_thread(pg.start)  # its own cluster: stopping it disturbs no other test
    try:
        admin = create_async_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.exec_driver_sql("CREATE DATABASE ready")
        await admin.dispose()
        settings = event_settings(cluster.url("ready"), migrate_on_start=True)
        async with running(settings) as r:
            assert await _is(r.client, 200)
            await asyncio.to_thread(_pg_ctl, cluster, "-m", "immediate", "-w", "stop")
            await eventually(lambda: _is(r.client, 503), within=WITHIN, what="unready without its database")
            status, body = await _ready(r.client)
            assert status == 503 and not body["checks"]["database"]["ok"], body
            assert (await r.client.get("/health/live")).status_code == 200
            opts = f"-p {cluster.port} -k {cluster.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            await asyncio.to_thread(_pg_ctl, cluster, "-o", opts, "-l", str(cluster.root / "log"), "-w", "start")
            await eventually(lambda: _is(r.client, 200), within=WITHIN, what="ready once the database is back")
    finally:
        await asyncio.to_thread(cluster.stop)
