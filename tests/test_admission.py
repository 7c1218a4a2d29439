"""Admission control of GraphQL (docs/security.md, "Admission control"): each limit refuses with its documented
error and one log line (code, size, hash, client; never the document), and client errors log no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text
from starlette.applications import Starlette

from app.factory import create_app
from app.settings import ApiKeyGrant, Settings
from schema import admission
from store.uow import ALL_TENANTS
from tests.events.ws import serving
from tests.graphql import gql

MARKER = "admissionmarkerxyz"  # in every refused document: it must appear in no log line
WAIT = 30.0


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything the log records hold, message and extra fields, as one text."""
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


def refusals(caplog: pytest.LogCaptureFixture, code: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tmf640.admission" and getattr(r, "code", None) == code]


def assert_one_refusal(caplog: pytest.LogCaptureFixture, code: str, document: str | None = None) -> None:
    found = refusals(caplog, code)
    assert len(found) == 1, [r.__dict__ for r in found]
    record = found[0]
    assert record.getMessage() == f"refused {code}"
    assert getattr(record, "client", None) == "127.0.0.1"
    if document is not None:
        size, digest = admission.fingerprint(document)
        assert (getattr(record, "size", None), getattr(record, "sha256", None)) == (size, digest)
    assert MARKER not in _logged(caplog)
    assert not any(r.exc_info for r in caplog.records), "a refusal logged a traceback"


def padded(size: int) -> str:
    """A valid document of at least `size` bytes, the marker in a field alias."""
    comment = "#" + "x" * 200 + "\n"
    return f"query {{ {MARKER}: __typename\n" + comment * (size // len(comment) + 1) + "}"


async def test_http_document_too_large(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    document = padded(32_769)
    response = await client.post("/graphql", json={"query": document})
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "DocumentTooLarge"
    assert "32768" in error["message"] and "TMF640_GRAPHQL_MAX_DOCUMENT_BYTES" in error["message"]
    assert_one_refusal(caplog, "DocumentTooLarge", document)


def test_refusals_past_an_address_allowance_are_delayed() -> None:
    throttle = admission.RefusalThrottle(1.5, burst=3, rate=2.0, max_clients=2)
    assert [throttle.delay_for("10.0.0.1", now=100.0) for _ in range(4)] == [0.0, 0.0, 0.0, 1.5]
    assert throttle.delay_for("10.0.0.2", now=100.0) == 0.0, "another address has its own allowance"
    assert throttle.delay_for("10.0.0.1", now=100.5) == 0.0, "refilled at 2 a second: one more after 0.5 s"
    assert throttle.delay_for("10.0.0.1", now=100.5) == 1.5
    throttle.delay_for("10.0.0.3", now=101.0)
    assert set(throttle.buckets) == {"10.0.0.1", "10.0.0.3"}, "at most max_clients, the quietest dropped"
    assert admission.RefusalThrottle(0.0, burst=1).delay_for("x") == admission.RefusalThrottle(0.0).delay_for("x")
    off = admission.RefusalThrottle(0.0, burst=1)
    assert [off.delay_for("x", now=1.0) for _ in range(3)] == [0.0, 0.0, 0.0], "0 turns the delay off"


async def test_an_address_refused_again_and_again_gets_its_refusals_late(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its allowance, a refusal is held (the pause is the test's to end), while an admitted request from
    the same address is answered at once."""
    released, holding = asyncio.Event(), asyncio.Event()
    held: list[float] = []

    async def pause(self: admission.RefusalThrottle, seconds: float) -> None:
        held.append(seconds)
        holding.set()
        await released.wait()

    monkeypatch.setattr(admission.RefusalThrottle, "pause", pause)
    big = {"query": padded(32_769)}
    answered_at_once = 0
    late: asyncio.Future[httpx.Response] | None = None
    while late is None:
        assert answered_at_once <= 200, "no refusal was ever held"
        request = asyncio.ensure_future(client.post("/graphql", json=big))
        is_held = asyncio.ensure_future(holding.wait())
        await asyncio.wait([request, is_held], timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        is_held.cancel()
        if holding.is_set():
            late = request
        else:
            assert request.result().status_code == 413
            answered_at_once += 1
    assert answered_at_once >= 20, "the allowance: 20 refusals in quick succession are answered at once"
    assert held == [1.0]  # TMF640_GRAPHQL_REFUSAL_DELAY's default
    admitted = await client.post("/graphql", json={"query": "{ __typename }"})
    assert admitted.json() == {"data": {"__typename": "Query"}}
    assert not late.done(), "the refusal is still held"
    released.set()
    assert (await late).status_code == 413


async def test_large_admitted_document_runs(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the cap but above OFFLOAD_BYTES: parsed and validated in the admission worker, then answered; the
    same text again is neither parsed nor validated (schema.prepared)."""
    calls: list[str] = []
    real = admission.off_loop

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(function.__name__)
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(admission, "off_loop", counted)
    document = f"# {uuid.uuid4()}\n" + padded(admission.OFFLOAD_BYTES + 100)  # never sent before
    body = await gql(client, document)
    assert body == {"data": {MARKER: "Query"}}
    assert calls == ["parse", "validate_document"]
    assert await gql(client, document) == body
    assert calls == ["parse", "validate_document"]


async def test_document_too_complex(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    document = f'{{ service(id: "{MARKER}") {{ ' + "id " * (admission.MAX_SELECTIONS_PER_SET + 1) + "} }"
    body = await gql(client, document)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["DocumentTooComplex"]
    assert_one_refusal(caplog, "DocumentTooComplex", document)


async def test_client_errors_log_no_traceback(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    mistakes = [
        f"query {{ services(first: -1) {{ totalCount }} {MARKER}: __typename }}",  # a typed query error
        f"query {{ {MARKER}: nosuchfield }}",  # validation
        f"query {{ {MARKER} ",  # syntax
    ]
    for document in mistakes:
        body = await gql(client, document)
        assert body["errors"], document
    assert not any(r.exc_info for r in caplog.records), [r.getMessage() for r in caplog.records if r.exc_info]
    assert not any(r.name == "strawberry.execution" for r in caplog.records)
    assert len(refusals(caplog, "ValidationFailed")) == 1  # the unknown field: refused before it runs
    assert len(refusals(caplog, "InvalidDocument")) == 1  # the syntax error


def production(settings: Settings, **more: Any) -> Settings:
    key = {"test-key": ApiKeyGrant(tenant="default", scopes=["admin"])}  # production needs authentication
    return settings.model_copy(update={"environment": "production", "api_keys": key, **more})


@pytest.fixture
async def production_app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(production(settings))
    async with application.router.lifespan_context(application):
        yield application


INTROSPECT = f"query {{ {MARKER}: __schema {{ queryType {{ name }} }} }}"


async def test_introspection_refused_in_production(production_app: Starlette,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=production_app), base_url="http://testserver",
                                 headers={"Authorization": "Bearer test-key"}) as client:
        body = await gql(client, INTROSPECT)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["IntrospectionDisabled"]
        assert "TMF640_GRAPHQL_INTROSPECTION" in body["errors"][0]["message"]
        assert await gql(client, "{ __typename }") == {"data": {"__typename": "Query"}}
    assert_one_refusal(caplog, "IntrospectionDisabled", INTROSPECT)


async def test_introspection_allowed_by_setting_and_in_development(settings: Settings,
                                                                   client: httpx.AsyncClient) -> None:
    assert (await gql(client, INTROSPECT))["data"] == {MARKER: {"queryType": {"name": "Query"}}}
    application = create_app(production(settings, graphql_introspection=True))
    async with application.router.lifespan_context(application), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver",
            headers={"Authorization": "Bearer test-key"}) as allowed:
        assert (await gql(allowed, INTROSPECT))["data"] == {MARKER: {"queryType": {"name": "Query"}}}


# ---- WebSocket ----------------------------------------------------------------------------------------------


async def _open(url: str) -> Any:
    ws = await websockets.connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                  open_timeout=WAIT, max_size=None)
    with contextlib.suppress(websockets.ConnectionClosed):  # refused at once: the caller reads the close
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    return ws


async def _ack(ws: Any) -> None:
    assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {"type": "connection_ack"}


async def _closed_with(ws: Any) -> tuple[int | None, str | None]:
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), WAIT)
    return ws.close_code, ws.close_reason


async def test_ws_connections_per_client(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with serving(settings.model_copy(update={"graphql_max_ws_per_client": 2})) as served:
        first, second = await _open(served.ws), await _open(served.ws)
        await _ack(first)
        await _ack(second)
        third = await _open(served.ws)
        code, reason = await _closed_with(third)
        assert code == admission.CLOSE_TOO_MANY
        assert reason is not None and "TMF640_GRAPHQL_MAX_WS_PER_CLIENT" in reason
        await first.close()
        await first.wait_closed()
        await asyncio.wait_for(_until_admitted(served.ws), WAIT)  # a freed place is taken again
        await second.close()
    assert_one_refusal(caplog, "TooManyConnections")


async def _until_admitted(url: str) -> None:
    """The server counts a closed connection out once its handler ended: retried until then, bounded by WAIT."""
    while True:
        ws = await _open(url)
        try:
            await _ack(ws)
            await ws.close()
            return
        except websockets.ConnectionClosed:
            pass
        await asyncio.sleep(0.05)


async def test_ws_connections_global(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    async with serving(settings.model_copy(update={"graphql_max_ws_connections": 1})) as served:
        first = await _open(served.ws)
        await _ack(first)
        code, reason = await _closed_with(await _open(served.ws))
        assert code == admission.CLOSE_TOO_MANY
        assert reason is not None and "TMF640_GRAPHQL_MAX_WS_CONNECTIONS" in reason
        await first.close()
    assert_one_refusal(caplog, "TooManyConnections")


SUBSCRIBE = f'subscription {{ serviceChanged(ids: ["{MARKER}"]) {{ eventType }} }}'


async def test_ws_document_too_large(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    document = padded(32_769)
    async with serving(settings) as served:
        ws = await _open(served.ws)
        await _ack(ws)
        await ws.send(json.dumps({"id": "big", "type": "subscribe", "payload": {"query": document}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert answer["type"] == "error" and answer["id"] == "big"
        assert answer["payload"][0]["extensions"]["code"] == "DocumentTooLarge"
        assert "TMF640_GRAPHQL_MAX_DOCUMENT_BYTES" in answer["payload"][0]["message"]
        await ws.send(json.dumps({"id": "ok", "type": "subscribe", "payload": {"query": "{ __typename }"}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert answer == {"id": "ok", "type": "next", "payload": {"data": {"__typename": "Query"}}}
        await ws.close()
    assert_one_refusal(caplog, "DocumentTooLarge", document)


async def test_ws_subscribe_rate(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    tight = settings.model_copy(update={"graphql_max_subscriptions": 2, "graphql_subscribe_rate": 0.01})
    async with serving(tight) as served:
        ws = await _open(served.ws)
        await _ack(ws)
        for n in range(4):  # the burst: twice TMF640_GRAPHQL_MAX_SUBSCRIPTIONS, each done before the next
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": {"query": "{ __typename }"}}))
            assert json.loads(await asyncio.wait_for(ws.recv(), WAIT))["type"] == "next"
            assert json.loads(await asyncio.wait_for(ws.recv(), WAIT)) == {"id": str(n), "type": "complete"}
        await ws.send(json.dumps({"id": "4", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert answer["type"] == "error" and answer["id"] == "4"
        assert answer["payload"][0]["extensions"]["code"] == "RateLimited"
        assert "TMF640_GRAPHQL_SUBSCRIBE_RATE" in answer["payload"][0]["message"]
        await ws.close()
    assert_one_refusal(caplog, "RateLimited", SUBSCRIBE)


async def test_server_fault_logged_with_traceback_not_document(app: Starlette, client: httpx.AsyncClient,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    created = await client.post("/tmf-api/serviceActivationAndConfiguration/v4/service", json={
        "id": "fault", "name": "s", "state": "designed", "serviceSpecification": {"name": "s"}})
    assert created.status_code in (200, 201), created.text
    async with app.state.resolvers.store.write(ALL_TENANTS) as uow:  # a real server fault: a table is gone
        await uow.conn.execute(text("DROP TABLE monitor_attr"))
        await uow.conn.execute(text("DROP TABLE monitor"))
    body = await gql(client, f'{{ service(id: "fault") {{ id monitors {{ id }} }} }} # {MARKER}')
    assert body["errors"][0]["message"] == "Unexpected error."
    faults = [r for r in caplog.records if r.exc_info]
    assert len(faults) == 1 and faults[0].name == "tmf640.graphql"
    assert "service" in faults[0].getMessage() and "monitors" in faults[0].getMessage()
    assert MARKER not in _logged(caplog)
