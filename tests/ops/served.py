"""A real `python -m app serve` process for operations tests: JSON logs to a file, helpers to read them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.test_e2e_serve import ROOT, START_DEADLINE, free_port

API = "/tmf-api/serviceActivationAndConfiguration/v4"


@dataclass
class Served:
    base: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def lines(self) -> list[dict[str, Any]]:
        """Every log line written so far, each parsed as JSON (a line that is not JSON fails the test)."""
        out = []
        for raw in self.log_path.read_text(encoding="utf-8").splitlines():
            if raw.strip():
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError as exc:
                    raise AssertionError(f"a log line is not JSON: {raw!r}") from exc
        return out

    def wait_for_line(self, predicate: Any, within: float = 30.0) -> dict[str, Any]:
        """The first log line matching `predicate`, waiting for the server to write it (bounded)."""
        deadline = time.monotonic() + within
        while True:
            found = [line for line in self.lines() if predicate(line)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError("no such log line:\n" + self.log_path.read_text(encoding="utf-8")[-4000:])
            time.sleep(0.05)  # polling an external process's file, bounded by the deadline above


@contextmanager
def serve(tmp_path: Path, database_url: str, *extra: str) -> Iterator[Served]:
    port = free_port()
    log_path = tmp_path / "server.log"
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--database-url", database_url,
               "--log-format", "json", *extra]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        served = Served(f"http://127.0.0.1:{port}", log_path, process)
        try:
            deadline = time.monotonic() + START_DEADLINE
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"the server exited with {process.returncode}:\n{log_path.read_text()}")
                try:
                    if httpx.get(f"{served.base}/health/ready", timeout=1.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"not ready within {START_DEADLINE}s:\n{log_path.read_text()}")
                time.sleep(0.1)  # polling an external process, bounded by the deadline above
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
