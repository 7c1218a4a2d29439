"""Load generation at a fixed concurrency: `wrk` when installed (it costs the 2 cores little), else an
asyncio + httpx client with the same number of connections."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time

import httpx

CONCURRENCY = 16


def generator() -> str:
    return "wrk" if shutil.which("wrk") else "httpx"


def requests_per_second(url: str, seconds: float, concurrency: int = CONCURRENCY) -> float:
    """Successful GETs of `url` per second over `seconds`."""
    if shutil.which("wrk"):
        return _wrk(url, seconds, concurrency)
    return asyncio.run(_httpx(url, seconds, concurrency))


def _wrk(url: str, seconds: float, concurrency: int) -> float:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", url],
        check=True, capture_output=True, text=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise RuntimeError(f"no Requests/sec in wrk's output:\n{out}")
    return float(found.group(1))


async def _httpx(url: str, seconds: float, concurrency: int) -> float:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = 0
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < end:
                response = await client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - start)


async def in_parallel(calls: list[object], concurrency: int = CONCURRENCY) -> list[object]:
    """Await the coroutines in `calls` with at most `concurrency` running at once; results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call: object) -> object:
        async with gate:
            return await call  # type: ignore[misc]

    return list(await asyncio.gather(*(one(c) for c in calls)))
