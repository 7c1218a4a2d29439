"""Delivery rules (backoff, give-up, signature) and the lease that keeps two processes off one listener."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import httpx

from resolvers.rules.delivery import DeliveryPolicy, body_of, headers, sign, verify
from store.uow import ALL_TENANTS, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = DeliveryPolicy(retry_base=1.0, retry_cap=10.0)
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert policy.delay(10_000).total_seconds() == 10


def test_gives_up_on_attempts_or_age_whichever_first() -> None:
    policy = DeliveryPolicy(max_attempts=3, max_age=60)
    assert not policy.gives_up(2, T0, T0 + timedelta(seconds=59))
    assert policy.gives_up(3, T0, T0)
    assert policy.gives_up(1, T0, T0 + timedelta(seconds=60))


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = body_of({"eventId": "e", "event": {"service": {"name": "é"}}})
    assert body == '{"eventId":"e","event":{"service":{"name":"é"}}}'.encode()
    expected = "sha256=" + hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert sign("secret", body) == expected
    assert verify("secret", body, expected) and not verify("secret", body + b" ", expected)
    sent = headers(hub_id="h", event_id="e", event_type="T", correlation_id="c", attempt=2, body=body, secret="secret")
    assert sent["X-TMF640-Signature"] == expected and sent["X-TMF640-Delivery-Attempt"] == "2"
    assert "X-TMF640-Signature" not in headers(hub_id="h", event_id="e", event_type="T", correlation_id=None,
                                               attempt=1, body=body, secret=None)


async def test_one_lease_holder_at_a_time(store: Store) -> None:
    async with store.write(ALL_TENANTS) as uow:
        await uow.hubs.insert(id="h", callback="http://127.0.0.1:9/", query=None, secret=None, owner="o",
                              cursor=0, now=T0)
    lease = timedelta(seconds=30)
    async with store.write(ALL_TENANTS) as uow:
        assert await uow.hubs.claim("h", "A", T0, T0 + lease)
        assert not await uow.hubs.claim("h", "B", T0 + timedelta(seconds=29), T0 + lease * 2)
        assert (await uow.hubs.due(T0 + timedelta(seconds=29), last_seq=5)).ids == []
        # A stalls past its lease: B may take over, and A can no longer move the cursor.
        assert (await uow.hubs.due(T0 + timedelta(seconds=31), last_seq=5)).ids == ["h"]
        assert await uow.hubs.claim("h", "B", T0 + timedelta(seconds=31), T0 + lease * 2)
        assert not await uow.hubs.delivered("h", "A", 1, T0)
        assert not await uow.hubs.renew("h", "A", T0 + lease * 3)
        assert await uow.hubs.delivered("h", "B", 1, T0)
        assert not await uow.hubs.delivered("h", "B", 1, T0)  # the cursor never moves back or repeats
        row = await uow.hubs.get("h")
    assert row is not None and row.cursor == 1 and row.lease_owner == "B"


async def test_health_reports_the_event_pipeline(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    events = response.json()["events"]
    assert events["bus"]["healthy"] and events["relay"]["healthy"] and events["dispatcher"]["healthy"]
    assert events["bus"]["backend"] == "memory"
