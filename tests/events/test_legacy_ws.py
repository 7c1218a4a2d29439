"""The legacy graphql-ws subprotocol, where TMF640_GRAPHQL_LEGACY_WS allows it, is admitted as graphql-transport-ws
is: the byte cap on documents, the subscribe rate, authentication by `connection_init` (schema/ws_handlers.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
import websockets

from tests.events.support import WAIT, event_settings
from tests.events.ws import serving
from tests.security.support import secured_settings
from tests.test_admission import refusals

PROTOCOL = [websockets.Subprotocol("graphql-ws")]
# graphql-ws carries subscriptions only; this one is answered at once (an error naming its argument), which
# shows the operation was admitted and run.
ANSWERED = 'subscription { events(after: "nope") { eventId } }'


async def _next(ws: Any) -> dict[str, Any]:
    """The next message that is not a keep-alive ("ka")."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if message["type"] != "ka":
            return message


async def _start(ws: Any, id: str, query: str) -> dict[str, Any]:
    await ws.send(json.dumps({"id": id, "type": "start", "payload": {"query": query}}))
    return await _next(ws)


async def _acknowledged(ws: Any, payload: dict[str, Any] | None = None) -> None:
    await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
    assert await _next(ws) == {"type": "connection_ack"}


def _ran(answer: dict[str, Any], id: str) -> bool:
    """`answer` is ANSWERED's own error (its argument named), not a refusal of admission."""
    return bool(answer["type"] == "error" and answer["id"] == id and answer["payload"]["extensions"] == {
        "code": "ValidationFailed", "path": "after"})


async def test_an_oversized_document_is_refused_and_the_connection_goes_on(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = event_settings(database_url, graphql_legacy_ws=True, graphql_max_document_bytes=1000)
    async with serving(settings) as served, websockets.connect(served.ws, subprotocols=PROTOCOL) as ws:
        await _acknowledged(ws)
        answer = await _start(ws, "big", ANSWERED + " " * 1000)
        assert answer["type"] == "error" and answer["id"] == "big"
        assert answer["payload"]["extensions"]["code"] == "DocumentTooLarge"
        assert "TMF640_GRAPHQL_MAX_DOCUMENT_BYTES" in answer["payload"]["message"]
        assert _ran(await _start(ws, "ok", ANSWERED), "ok")
    assert len(refusals(caplog, "DocumentTooLarge")) == 1


async def test_the_subscribe_rate_holds_on_the_legacy_protocol(database_url: str) -> None:
    settings = event_settings(database_url, graphql_legacy_ws=True, graphql_subscribe_rate=0.01,
                              graphql_max_subscriptions=1)  # a burst of twice that, then 0.01 a second
    async with serving(settings) as served, websockets.connect(served.ws, subprotocols=PROTOCOL) as ws:
        await _acknowledged(ws)
        for n in range(2):  # the burst
            assert _ran(await _start(ws, str(n), ANSWERED), str(n))
        answer = await _start(ws, "2", ANSWERED)
        assert answer["type"] == "error" and answer["payload"]["extensions"]["code"] == "RateLimited"


async def test_the_legacy_protocol_authenticates_by_connection_init(database_url: str) -> None:
    async with serving(secured_settings(database_url, graphql_legacy_ws=True)) as served:
        async with websockets.connect(served.ws, subprotocols=PROTOCOL) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer wrong"}}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await _next(ws)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        async with websockets.connect(served.ws, subprotocols=PROTOCOL) as ws:
            await _acknowledged(ws, {"Authorization": "Bearer key-a-read"})
            assert _ran(await _start(ws, "q", ANSWERED), "q")
