"""Hubs that heal: a listener down longer than the give-up point receives everything it missed once it is back,
with no operator; Standard Webhooks signatures that a receiver (the reference library) verifies."""

from __future__ import annotations

import base64
import logging
import time

import pytest
from standardwebhooks import Webhook

from resolvers.rules.delivery import body_of, headers, sign_standard, verify_standard
from tests.events.support import API, event_settings, eventually, listening, running, simple
from tests.events.test_hub_delivery import _state_is, hub_status, outbox_after, register, registered_at


async def test_a_listener_down_past_the_give_up_point_gets_everything_back_unaided(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tmf640.hub")
    settings = event_settings(database_url, hub_max_attempts=0, hub_max_age=0.5, hub_failing_retry=0.5)
    async with listening() as listener, running(settings) as r:
        hub_id = await register(r.client, listener.url)
        start = await registered_at(r)
        await listener.stop()  # down: connections refused
        assert (await r.client.post(f"{API}/service", json=simple("before-give-up"))).status_code == 201
        await eventually(lambda: _state_is(r.client, hub_id, "failing"), what="the hub to be marked failing")
        for name in ("while-failing-1", "while-failing-2"):
            assert (await r.client.post(f"{API}/service", json=simple(name))).status_code == 201
        failing = await hub_status(r.client, hub_id)
        assert failing["state"] == "failing" and failing["lastError"]

        await listener.start()  # back on the same port; nobody calls resume
        expected = await outbox_after(r, start)
        await listener.wait_for(lambda lis: len(lis.accepted) >= len(expected))
        assert listener.events == [e.payload for e in expected]  # all of it, in order, once
        await eventually(lambda: _state_is(r.client, hub_id, "active"), what="the hub to be active again")
        assert (await hub_status(r.client, hub_id))["failedAttempts"] == 0

    events = [getattr(rec, "event", None) for rec in caplog.records if getattr(rec, "listener", None) == hub_id]
    assert events.count("hub_give_up") == 1 and events.count("hub_resumed") == 1
    assert events.index("hub_give_up") < events.index("hub_resumed")


async def test_standard_webhooks_headers_verify_with_the_reference_library(database_url: str) -> None:
    secret = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes!!!!").decode()
    async with listening() as listener, running(event_settings(database_url)) as r:
        await register(r.client, listener.url, secret=secret)
        assert (await r.client.post(f"{API}/service", json=simple("signed"))).status_code == 201
        await listener.wait_for(lambda lis: len(lis.accepted) >= 1)
    received = listener.accepted[0]
    assert received.headers["webhook-id"] == received.event["eventId"]
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 60
    assert Webhook(secret).verify(received.body, received.headers)["eventId"] == received.event["eventId"]
    assert received.headers["x-tmf640-signature"].startswith("sha256=")  # the present header is still sent
    assert verify_standard(secret, received.headers, received.body, now=time.time())


def test_standard_signature_rules() -> None:
    body = body_of({"eventId": "e-1"})
    now = int(time.time())
    sent = headers(hub_id="h", event_id="e-1", event_type="T", correlation_id=None, attempt=1, body=body,
                   secret="plain secret", timestamp=now, signing="standard")
    assert "X-TMF640-Signature" not in sent
    key = base64.b64encode(b"plain secret").decode()  # a secret without whsec_ is keyed by its UTF-8 bytes
    assert Webhook(key).verify(body, sent) == {"eventId": "e-1"}
    assert not verify_standard("plain secret", sent, body + b" ", now=now)  # a changed body
    assert not verify_standard("plain secret", sent, body, now=now + 301)  # a replay, five minutes later
    assert not verify_standard("another", sent, body, now=now)
    assert sent["webhook-signature"] == sign_standard("plain secret", "e-1", now, body)
    only_tmf = headers(hub_id="h", event_id="e-1", event_type="T", correlation_id=None, attempt=1, body=body,
                       secret="s", timestamp=now, signing="tmf640")
    assert "webhook-signature" not in only_tmf and "X-TMF640-Signature" in only_tmf
