"""End to end: `python -m app serve` in a real uvicorn process answers the TMF640 list path."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
API = "/tmf-api/serviceActivationAndConfiguration/v4"
START_DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A served app on a fresh SQLite file; its base URL once /health answers (bounded wait)."""
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    command = [sys.executable, "-m", "app", "serve", "--port", str(port),
               "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{(tmp_path / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no /health within {START_DEADLINE}s:\n{(tmp_path / 'server.log').read_text()}")
            time.sleep(0.1)  # polling an external process, bounded by the deadline above
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.mark.e2e
def test_served_list_is_empty_json_array(server: str) -> None:
    response = httpx.get(f"{server}{API}/service", timeout=10.0)
    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "0"
    created = httpx.post(f"{server}{API}/service", json={"state": "designed", "serviceSpecification": {"name": "x"}},
                         timeout=10.0)
    assert created.status_code == 201
    assert created.headers["Location"].startswith(f"{server}{API}/service/")
    assert httpx.get(created.headers["Location"], timeout=10.0).json() == created.json()
