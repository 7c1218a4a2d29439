"""A throwaway PostgreSQL cluster for the test session: initdb in a temporary folder, a free port, stopped after.

Each pytest-xdist worker is a session of its own, so each starts its own cluster: its own folder (mkdtemp) and
port (asked of the OS, and another one if a neighbour took it before the server bound it). As root, the
cluster runs as the `postgres` system user (initdb refuses root).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg


def find_bin(name: str) -> str | None:
    """The server binary `name` (PATH first, then Debian's versioned folders); None when not installed."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def bin_path(name: str) -> str:
    found = find_bin(name)
    if found is None:
        raise FileNotFoundError(f"PostgreSQL's {name} is not installed")
    return found


def available() -> bool:
    return find_bin("initdb") is not None and find_bin("pg_ctl") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Admin:
    """One AUTOCOMMIT connection to a cluster's `postgres` database, kept for the session and served by an event
    loop of its own thread: fixtures are synchronous, and a connection per statement cost ~50 ms a test."""

    def __init__(self, cluster: Cluster) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pg-admin", daemon=True)
        self.thread.start()
        self.conn: asyncpg.Connection = self._run(asyncpg.connect(
            user=cluster.user, host="127.0.0.1", port=cluster.port, database="postgres"))

    def _run(self, work: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=120)

    def execute(self, sql: str) -> None:
        self._run(self.conn.execute(sql))

    def close(self) -> None:
        try:
            self._run(self.conn.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


@dataclass
class Cluster:
    root: Path
    port: int
    user: str
    run_as: list[str]
    _admin: Admin | None = field(default=None, repr=False)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run `sql` (CREATE or DROP DATABASE...) on the session's admin connection, opened on first use."""
        if self._admin is None:
            self._admin = Admin(self)
        self._admin.execute(sql)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        pg_ctl = bin_path("pg_ctl")
        subprocess.run([*self.run_as, pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


FAST = "-c fsync=off"  # throwaway clusters of the tests (commits survive a PostgreSQL crash: its tests stop it)


MEMORY = Path("/dev/shm")  # tmpfs: the tests' clusters create and drop a database per test (~16 MB written each)


def start(durability: str = FAST) -> Cluster:
    """A new cluster on a free port; `durability` "" keeps PostgreSQL's defaults (fsync on, as in production).

    A throwaway cluster (FAST) lives in memory where the machine has a tmpfs at /dev/shm: on this machine's disk,
    the writes of a database created and dropped per test stall each CREATE DATABASE for ~0.3 s (vs ~0.04 s).
    A durable one stays on disk, where its figures mean something.
    """
    memory = durability == FAST and MEMORY.is_dir() and os.access(MEMORY, os.W_OK)
    root = Path(tempfile.mkdtemp(prefix="tmf640-pg-", dir=MEMORY if memory else None))
    run_as: list[str] = []
    user = "postgres"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    else:
        user = os.environ.get("USER", "postgres")
    data = root / "data"
    port = _free_port()
    subprocess.run([*run_as, bin_path("initdb"), "-D", str(data), "-U", user, "-A", "trust", "--no-sync"],
                   check=True, capture_output=True)
    for attempt in range(3):
        opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {durability} -c max_connections=300"
        if memory:
            opts += " -c max_wal_size=128MB"  # the WAL in memory too: recycled sooner than at 1 GB
        started = subprocess.run(
            [*run_as, bin_path("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"],
            capture_output=True,
        )
        if started.returncode == 0:
            return Cluster(root, port, user, run_as)
        if attempt == 2:
            started.check_returncode()
        port = _free_port()  # most likely taken meanwhile by another worker's cluster or a test's server
    raise AssertionError("unreachable")
