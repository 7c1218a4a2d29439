"""Real server processes for end-to-end tests: `python -m app serve` started, SIGKILLed and restarted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
API = "/tmf-api/serviceActivationAndConfiguration/v4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(what: str, check: Callable[[], Any], seconds: float, every: float = 0.05) -> Any:
    """Poll another process's state until `check` returns something truthy, within a deadline."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")


class Server:
    """One server process; `start` again after `kill` is a restart on the same port and database."""

    def __init__(self, name: str, logs: Path, env: dict[str, str]) -> None:
        self.name, self.logs = name, logs
        self.port = free_port()
        self.env = {**os.environ, **env, "TMF640_PORT": str(self.port), "TMF640_HOST": "127.0.0.1"}
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None  # the current start's log file, closed when the process ends
        self.starts = 0
        self.kills = 0

    def start(self, wait: float = 30.0) -> None:
        self.starts += 1
        self._close_log()
        self._log = (self.logs / f"{self.name}-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        until(f"{self.name} to answer", self.healthy, wait)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def healthy(self) -> bool:
        assert self.alive, f"{self.name} exited: see {self.logs}"
        try:
            return httpx.get(f"{self.base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1
        self._close_log()

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob(f"{self.name}-*.log")))
