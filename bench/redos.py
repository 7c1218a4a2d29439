"""Regex filters against a read running beside them: `python -m bench.redos`.

Times `name*=^(a+)+$` over N 25-character names (catastrophic for a backtracking engine, linear for RE2)
while a plain read runs concurrently, and, for comparison, Python's backtracking `re` on one such name.
Prints figures; fails no build (issue #11 asks: the filter within 1 s, the plain read under 200 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from pathlib import Path

import httpx

from app.factory import create_app
from app.settings import Settings

API = "/tmf-api/serviceActivationAndConfiguration/v4"
EVIL = "^(a+)+$"


async def run(names: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"))
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for _ in range(names):
                await client.post(f"{API}/service", json={"name": "a" * 24 + "!", "state": "designed",
                                                          "serviceSpecification": {"name": "s"}},
                                  headers={"Prefer": "respond-async"})

            async def timed(params: dict[str, str]) -> float:
                started = time.monotonic()
                (await client.get(f"{API}/service", params=params)).raise_for_status()
                return time.monotonic() - started

            evil, plain = await asyncio.gather(timed({"name*": EVIL}), timed({"name": "nobody"}))
    print(f"name*={EVIL} over {names} names of 25 characters: {evil * 1000:.1f} ms")
    print(f"concurrent plain read: {plain * 1000:.1f} ms")
    started = time.monotonic()
    re.search(EVIL, "a" * 20 + "!")  # 20, not 25: Python's re needs ~32x longer for 25
    print(f"for comparison, Python re on ONE 21-character name: {(time.monotonic() - started) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=20)
    asyncio.run(run(parser.parse_args().names))


if __name__ == "__main__":
    main()
