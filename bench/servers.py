"""Processes the benchmarks measure: `tmf640 serve` and the bare baseline, each a real uvicorn on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
API = "/tmf-api/serviceActivationAndConfiguration/v4"
START_DEADLINE = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Started:
    seconds: float  # wall time until the probe answered
    cpu: float  # CPU seconds the process used until then (a figure the machine's load disturbs less)
    pid: int


@contextmanager
def process(command: list[str], probe: str, log: Path, env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> Iterator[Started]:
    """Start `command`, wait until `probe` answers (any status below 500); yield when and at what CPU cost."""
    out = log.open("ab")
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + START_DEADLINE
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[:4]} exited with {proc.returncode}; see {log}")
            try:
                if httpx.get(probe, timeout=2.0).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{probe} did not answer within {START_DEADLINE}s; see {log}")
            time.sleep(0.01)  # polling an external process, bounded by the deadline
        yield Started(time.perf_counter() - started, cpu_seconds(proc.pid), proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        out.close()


@contextmanager
def tmf640(url: str, log: Path, tree: Path = ROOT, **settings: str) -> Iterator[str]:
    """`tmf640 serve` on `url` (extra TMF640_* settings as keyword arguments) from the source `tree` (another
    checkout, to compare before and after in one run); yields its base URL."""
    port = free_port()
    env = {f"TMF640_{k.upper()}": v for k, v in settings.items()}
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--database-url", url]
    with process(command, f"http://127.0.0.1:{port}/health", log, env, cwd=tree):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def baseline(db_file: Path, log: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "bench.baseline", str(db_file), str(port)]
    with process(command, f"http://127.0.0.1:{port}{API}/service/none", log):
        yield f"http://127.0.0.1:{port}"
