"""Helpers for REST tests: the API prefix, creating a service, reading what the store holds, TMF Error checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from store.query_form import ListQuery
from store.uow import ALL_TENANTS

API = "/tmf-api/serviceActivationAndConfiguration/v4"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def minimal(**extra: Any) -> dict[str, Any]:
    """The smallest valid Service_Create body, plus `extra`."""
    return {"state": "designed", "serviceSpecification": {"id": "spec-1", "name": "vCPE"}, **extra}


async def create(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await client.post(f"{API}/service", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def assert_tmf_error(response: httpx.Response, status: int, *mentions: str) -> dict[str, Any]:
    """The body is a TMF Error with string values and the status; its message mentions each of `mentions`."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["@type"] == "Error"
    for key in ("code", "reason", "message", "status"):
        assert isinstance(body[key], str) and body[key], key
    assert body["status"] == str(status)
    for text in mentions:
        assert text in body["message"], f"{text!r} not in {body['message']!r}"
    return body


@dataclass(frozen=True)
class Stored:
    """What the store holds for one service: document, version, revisions and the outbox position."""

    doc: dict[str, Any] | None
    version: int | None
    revisions: list[tuple[int, str, str | None]]
    last_event: int
    services: int


async def stored(app: Starlette, id: str) -> Stored:
    store = app.state.resolvers.store
    async with store.read(ALL_TENANTS) as uow:
        row = await uow.services.get(id)
        revisions = [(r.version, r.operation, r.correlation_id) for r in await uow.services.revisions([id])]
        last_event = await uow.outbox.last_seq()
        _rows, count, _keys = await uow.services.search(ListQuery(), 0)
    return Stored(row.doc if row else None, row.version if row else None, revisions, last_event, count)
