"""Filters cannot freeze the server: regexes run in linear time (RE2) or are refused naming the construct."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from starlette.applications import Starlette

from store.patterns import MAX_PATTERN_LENGTH
from store.uow import ALL_TENANTS
from tests.events.support import API

EVIL = "^(a+)+$"  # exponential for a backtracking engine on "aaaa…a!"


async def test_a_catastrophic_pattern_answers_at_once_and_reads_go_on(app: Starlette,
                                                                     client: httpx.AsyncClient) -> None:
    for i in range(5):
        body = {"name": "a" * 24 + "!" if i % 2 else "a" * 25, "state": "designed",
                "serviceSpecification": {"name": "s"}}
        assert (await client.post(f"{API}/service", json=body)).status_code in (201, 202)

    async def timed(params: dict[str, str]) -> tuple[float, httpx.Response]:
        started = time.monotonic()
        response = await client.get(f"{API}/service", params=params)
        return time.monotonic() - started, response

    (evil_s, evil), (plain_s, plain) = await asyncio.gather(
        timed({"name*": EVIL, "fields": "name"}), timed({"name": "nobody"}))
    assert evil.status_code == 200 and sorted(s["name"] for s in evil.json()) == ["a" * 25] * 3
    assert plain.status_code == 200 and plain.json() == []
    # Behaviour, not a stopwatch: with a backtracking engine the filter takes seconds per name (2^24 steps)
    # and holds the event loop, so the plain read waits as long. Precise figures: `python -m bench.redos`.
    assert evil_s < 5.0 and plain_s < 5.0, (evil_s, plain_s)


@pytest.mark.parametrize(("pattern", "named"), [
    ("(a)\\1", "invalid escape sequence: \\1"),  # a backreference
    ("(?=a)b", "(?="),  # lookahead
    ("(?<!a)b", "(?<"),  # lookbehind
    ("a{99999999}", "repetition size"),
    ("((a{1000}){1000}){1000}", "repetition"),
    ("a" * (MAX_PATTERN_LENGTH + 1), f"longer than {MAX_PATTERN_LENGTH} characters"),
])
async def test_patterns_rewritten_or_refused_name_the_construct(client: httpx.AsyncClient, pattern: str,
                                                                named: str) -> None:
    for spelling in (f"name*={pattern}", f"name=~{pattern}"):
        response = await client.get(f"{API}/service", params=[tuple(spelling.split("=", 1))])  # type: ignore[list-item]
        assert response.status_code == 400, (spelling, response.text)
        assert named in response.json()["message"], response.json()["message"]
        assert response.json()["message"].startswith("name")
    events = await client.post(f"{API}/hub", json={"callback": "http://127.0.0.1:9/x",
                                                   "query": f"event.service.name=~{pattern}"})
    assert events.status_code == 400 and named in events.json()["message"]


async def test_sqlite_regexp_is_re2(app: Starlette, database_url: str) -> None:
    """SQLite's REGEXP is the RE2 function: a lookahead Python's `re` would run never matches there."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL runs `~`, its own non-backtracking engine, on RE2-checked patterns")
    from sqlalchemy import text
    async with app.state.resolvers.store.read(ALL_TENANTS) as uow:
        lookahead = (await uow.conn.execute(text("SELECT 'ab' REGEXP '(?=a)a'"))).scalar_one()
        plain = (await uow.conn.execute(text("SELECT 'xaay' REGEXP '^x(a+)+y$'"))).scalar_one()
    assert (lookahead, plain) == (0, 1)
