"""The same create, patches, transitions and delete through REST and through GraphQL leave the same services,
the same revisions and the same events: both APIs run the same resolvers."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from starlette.applications import Starlette

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from store.uow import ALL_TENANTS
from tests.graphql import ok, settle

API = "/tmf-api/serviceActivationAndConfiguration/v4"
PAYLOAD = "__typename ... on Error { message } ... on ServicePayload { service { id } monitor { id } }"


def bundle(prefix: str) -> dict[str, Any]:
    return {
        "id": f"{prefix}-bundle", "name": "bundle", "state": "designed", "isBundle": True, "@type": "vBundle",
        "serviceSpecification": {"id": "spec-1", "name": "bundle"},
        "supportingService": [
            {"id": f"{prefix}-m1", "name": "m1", "serviceSpecification": {"name": "vCPE"},
             "serviceCharacteristic": [{"name": "speed", "value": {"down": 100, "up": [10, 20]}}]},
            {"id": f"{prefix}-m2", "name": "m2", "serviceSpecification": {"name": "vFW"},
             "serviceRelationship": [{"relationshipType": "reliesOn", "service": {"id": f"{prefix}-m1"}}]},
        ],
    }


MERGE = {"description": "changed", "relatedParty": [{"id": "42", "role": "owner"}], "name": None}
JSON_PATCH = [{"op": "add", "path": "/note", "value": [{"text": "hi", "author": "ops"}]}]
STEPS = [("activate", "active"), ("suspend", "inactive"), ("resume", "active"), ("terminate", "terminated")]


async def through_rest(client: httpx.AsyncClient) -> None:
    def corr(step: str) -> dict[str, str]:
        return {"x-correlation-id": f"corr-{step}"}

    created = await client.post(f"{API}/service", json=bundle("rest"), headers=corr("create"))
    assert created.status_code == 201, created.text
    merged = await client.patch(f"{API}/service/rest-bundle", json=MERGE, headers=corr("merge"))
    assert merged.status_code == 200, merged.text
    patched = await client.patch(f"{API}/service/rest-m1", content=json.dumps(JSON_PATCH),
                                 headers={"content-type": "application/json-patch+json", **corr("json")})
    assert patched.status_code == 200, patched.text
    for verb, state in STEPS:
        moved = await client.patch(f"{API}/service/rest-m2", json={"state": state}, headers=corr(verb))
        assert moved.status_code == 200, moved.text


async def through_graphql(app: Starlette, client: httpx.AsyncClient) -> None:
    async def run(query: str, variables: dict[str, Any]) -> None:
        data = await ok(client, query, variables)
        (result,) = data.values()
        assert result["__typename"] == "ServicePayload", result
        # GraphQL returns at once, REST waits for the work: wait here so both see the same finished writes.
        await settle(app, result)

    await run(f"mutation($s: JSON!) {{ createService(input: $s, correlationId: \"corr-create\") {{ {PAYLOAD} }} }}",
              {"s": bundle("gql")})
    await run(f"""mutation($p: JSON!) {{
        patchService(id: "gql-bundle", mergePatch: $p, correlationId: "corr-merge") {{ {PAYLOAD} }} }}""",
              {"p": MERGE})
    await run(f"""mutation($p: JSON!) {{
        patchService(id: "gql-m1", jsonPatch: $p, correlationId: "corr-json") {{ {PAYLOAD} }} }}""",
              {"p": JSON_PATCH})
    for verb, _ in STEPS:
        await run(f'mutation {{ {verb}Service(id: "gql-m2", correlationId: "corr-{verb}") {{ {PAYLOAD} }} }}', {})


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normal(value: Any) -> Any:
    """The value with each flow's id prefix made the same, and generated ids (the monitors an event's
    `x-activation` names while work is under way) replaced by a placeholder."""
    text = UUID.sub("<generated>", json.dumps(value))
    return json.loads(text.replace("rest-", "X-").replace("gql-", "X-"))


async def stored(client: httpx.AsyncClient, prefix: str) -> list[Any]:
    out = []
    for name in ("bundle", "m1", "m2"):
        response = await client.get(f"{API}/service/{prefix}-{name}")
        assert response.status_code == 200
        out.append(normal(response.json()))
    return out


async def history(app: Starlette, prefix: str) -> tuple[list[Any], list[Any]]:
    resolvers: Resolvers = app.state.resolvers
    ids = [f"{prefix}-{name}" for name in ("bundle", "m1", "m2")]
    revisions = await resolvers.navigation.revisions(RequestContext(), ids)
    revs = [
        normal([(r.operation, r.version, r.changes, r.state, r.correlation_id, r.actor) for r in revisions[i]])
        for i in ids
    ]
    async with resolvers.store.read(ALL_TENANTS) as uow:
        events = [e for e in await uow.outbox.after(0, limit=10_000) if e.resource_id in ids]
    volatile = ("eventId", "eventTime", "timeOcurred", "timeOccurred")
    envelopes = [normal({k: v for k, v in e.payload.items() if k not in volatile}) for e in events]
    return revs, envelopes


async def test_rest_and_graphql_writes_leave_the_same_services_revisions_and_events(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await through_rest(client)
    await through_graphql(app, client)
    rest_services, gql_services = await stored(client, "rest"), await stored(client, "gql")
    assert rest_services == gql_services
    assert rest_services[2]["state"] == "terminated" and rest_services[0]["description"] == "changed"

    delete_rest = await client.delete(f"{API}/service/rest-bundle", headers={"x-correlation-id": "corr-delete"})
    assert delete_rest.status_code == 204
    deleted = await ok(client, 'mutation { deleteService(id: "gql-bundle", correlationId: "corr-delete") { '
                               "__typename ... on DeleteServicePayload { deletedId correlationId monitor { id } } } }")
    payload = deleted["deleteService"]
    assert {k: v for k, v in payload.items() if k != "monitor"} == {
        "__typename": "DeleteServicePayload", "deletedId": "gql-bundle", "correlationId": "corr-delete"}
    assert (await settle(app, payload) or {}).get("state") == "Completed"  # terminated by its driver, then gone
    assert (await client.get(f"{API}/service/gql-bundle")).status_code == 404

    rest_revisions, rest_events = await history(app, "rest")
    gql_revisions, gql_events = await history(app, "gql")
    assert rest_revisions == gql_revisions
    # The engine moves state only when a driver succeeds: each creation records the state its design driver
    # reached ("state"), and deleting the bundle first terminates it and its member m1 (m2 already is).
    assert [r[0] for r in rest_revisions[0]] == ["create", "state", "patch", "state", "delete"]
    assert [r[0] for r in rest_revisions[1]] == ["create", "state", "patch", "state"]
    assert [r[0] for r in rest_revisions[2]] == ["create", "state", "patch", "patch", "patch", "patch"]
    assert rest_events == gql_events
    # creates and their states, merge, JSON Patch, transitions, terminations of bundle and m1, delete
    assert len(rest_events) == 3 + 3 + 1 + 1 + 4 + 2 + 1
