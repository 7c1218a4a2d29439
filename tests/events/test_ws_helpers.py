"""The WebSocket test client's waiting helper: it must not wait for an event that is never coming.

The two-process e2e test was flaky (about one run in six) because its own loop counted the events received after
reading the outbox: when the last events arrived during that read, it waited for one more, which never came, and
reported a stale prefix as lost events. `until_equal` counts before it reads.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.events.ws import Subscriber, until_equal


def event(event_id: str, correlation: str) -> dict[str, Any]:
    return {"eventId": event_id, "correlationId": correlation}


async def test_the_last_events_arriving_while_the_outbox_is_read_end_the_wait() -> None:
    sub = Subscriber("ws://unused", "subscription { events { eventId } }")  # never started: fed by hand
    sub.received.append(event("e1", "mine"))
    reads = 0

    async def outbox() -> list[str]:
        nonlocal reads
        reads += 1
        if reads == 1:  # the rest arrives during the first read, and nothing after it
            sub.received.extend([event("x", "other"), event("e2", "mine"), event("e3", "mine")])
        return ["e1", "e2", "e3"]

    await until_equal(sub, outbox, keep=lambda e: e["correlationId"] == "mine")
    assert reads == 2, "one read found the prefix, the next (at once, no event awaited) the whole"


async def test_a_received_event_the_outbox_does_not_hold_fails_at_once() -> None:
    sub = Subscriber("ws://unused", "subscription { events { eventId } }")
    sub.received.extend([event("e1", "mine"), event("stray", "mine")])

    async def outbox() -> list[str]:
        return ["e1", "e2"]

    with pytest.raises(AssertionError, match="stray"):
        await until_equal(sub, outbox, within=60, keep=lambda e: e["correlationId"] == "mine")
