"""Typed GraphQL inputs (ServiceCreateInput, ServiceUpdateInput, JSON Patch operations) are the same writes as
REST's TMF documents: same services, revisions and events. Typed input that breaks the schema is refused by
GraphQL validation, naming the path at fault. The activation policy is chosen per mutation, as on REST."""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.graphql import gql, ok, settle
from tests.test_graphql_parity import API, PAYLOAD, history, stored


def document(prefix: str) -> dict[str, Any]:
    """A bundle with two members by value, dates, parties, characteristics, a relationship and a subclass
    attribute: the REST document the typed input below must equal."""
    return {
        "id": f"{prefix}-bundle", "name": "bundle", "state": "designed", "isBundle": True, "@type": "vBundle",
        "vendorTag": {"region": "eu"},  # a subclass attribute: `extensions` in the typed input
        "startDate": "2026-03-01T08:00:00Z",
        "serviceSpecification": {"id": "spec-1", "name": "bundle"},
        "relatedParty": [{"id": "42", "role": "owner", "@referredType": "Individual"}],
        "note": [{"author": "ops", "text": "hello", "date": "2026-02-01T10:30:00.250000+02:00"}],
        "supportingService": [
            {"id": f"{prefix}-m1", "name": "m1", "serviceSpecification": {"id": "spec-cpe", "name": "vCPE"},
             "serviceCharacteristic": [{"name": "speed", "value": {"down": 100, "up": [10, 20]}}]},
            {"id": f"{prefix}-m2", "name": "m2", "serviceSpecification": {"id": "spec-fw", "name": "vFW"},
             "serviceRelationship": [{"relationshipType": "reliesOn", "service": {"id": f"{prefix}-m1"}}]},
        ],
    }


def typed(prefix: str) -> dict[str, Any]:
    return {
        "id": f"{prefix}-bundle", "name": "bundle", "state": "designed", "isBundle": True, "type": "vBundle",
        "extensions": {"vendorTag": {"region": "eu"}},
        "startDate": "2026-03-01T08:00:00Z",
        "serviceSpecification": {"id": "spec-1", "name": "bundle"},
        "relatedParty": [{"id": "42", "role": "owner", "referredType": "Individual"}],
        "note": [{"author": "ops", "text": "hello", "date": "2026-02-01T10:30:00.250000+02:00"}],
        "supportingService": [
            {"id": f"{prefix}-m1", "name": "m1", "serviceSpecification": {"id": "spec-cpe", "name": "vCPE"},
             "serviceCharacteristic": [{"name": "speed", "value": {"down": 100, "up": [10, 20]}}]},
            {"id": f"{prefix}-m2", "name": "m2", "serviceSpecification": {"id": "spec-fw", "name": "vFW"},
             "serviceRelationship": [{"relationshipType": "reliesOn", "service": {"id": f"{prefix}-m1"}}]},
        ],
    }


MERGE = {"description": "changed", "name": None, "endDate": "2027-01-01T00:00:00Z",
         "serviceCharacteristic": [{"name": "colour", "value": "blue", "valueType": "string"}]}
TYPED_MERGE = {"description": "changed", "name": None, "endDate": "2027-01-01T00:00:00Z",
               "serviceCharacteristic": [{"name": "colour", "value": "blue", "valueType": "string"}]}
JSON_PATCH = [{"op": "add", "path": "/note/-", "value": {"text": "second"}},
              {"op": "test", "path": "/name", "value": "m1"}, {"op": "remove", "path": "/serviceCharacteristic"}]


async def test_typed_create_and_patches_equal_rest(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await client.post(f"{API}/service", json=document("rest"), headers={"x-correlation-id": "c-create"})
    assert created.status_code == 201, created.text
    merged = await client.patch(f"{API}/service/rest-bundle", json=MERGE, headers={"x-correlation-id": "c-merge"})
    assert merged.status_code == 200, merged.text
    await client.patch(f"{API}/service/rest-m1", json={"note": [{"text": "first"}]})
    patched = await client.patch(f"{API}/service/rest-m1", content=json.dumps(JSON_PATCH),
                                 headers={"content-type": "application/json-patch+json", "x-correlation-id": "c-j"})
    assert patched.status_code == 200, patched.text

    async def run(query: str, variables: dict[str, Any]) -> None:
        (result,) = (await ok(client, query, variables)).values()
        assert result["__typename"] == "ServicePayload", result
        await settle(app, result)

    await run(f"""mutation($s: ServiceCreateInput!) {{
        createService(service: $s, correlationId: "c-create") {{ {PAYLOAD} }} }}""", {"s": typed("gql")})
    await run(f"""mutation($u: ServiceUpdateInput!) {{
        patchService(id: "gql-bundle", update: $u, correlationId: "c-merge") {{ {PAYLOAD} }} }}""",
              {"u": TYPED_MERGE})
    await run(f"""mutation {{ patchService(id: "gql-m1", update: {{note: [{{text: "first"}}]}}) {{ {PAYLOAD} }} }}""",
              {})
    await run(f"""mutation($o: [JsonPatchOperationInput!]!) {{
        patchService(id: "gql-m1", operations: $o, correlationId: "c-j") {{ {PAYLOAD} }} }}""", {"o": JSON_PATCH})

    rest_services, gql_services = await stored(client, "rest"), await stored(client, "gql")
    assert rest_services == gql_services
    bundle, m1 = rest_services[0], rest_services[1]
    assert bundle["vendorTag"] == {"region": "eu"} and "name" not in bundle and bundle["description"] == "changed"
    assert bundle["note"][0]["date"] == "2026-02-01T10:30:00.250000+02:00"
    assert [n["text"] for n in m1["note"]] == ["first", "second"] and "serviceCharacteristic" not in m1
    assert _unordered(await history(app, "rest")) == _unordered(await history(app, "gql"))


def _unordered(value: Any) -> Any:
    """Revisions and events with the order of attributes set aside: a typed input lists attributes in the
    schema's order, a client's document in its own; the attributes and values must be the same."""

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (sorted(x.strip() for x in item.split(",")) if k == "fieldPath" and isinstance(item, str)
                        else norm(item)) for k, item in v.items()}
        if isinstance(v, list | tuple):
            items = [norm(x) for x in v]
            if all(isinstance(x, dict) and "op" in x for x in items) and items:  # RFC 6902 changes
                return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
            return items
        return v

    return json.loads(json.dumps(norm(json.loads(json.dumps(value))), sort_keys=True))


async def test_invalid_typed_input_is_refused_by_validation_naming_the_path(client: httpx.AsyncClient) -> None:
    bad = typed("bad")
    bad["supportingService"][1]["isBundle"] = "yes"
    body = await gql(client, "mutation($s: ServiceCreateInput!) { createService(service: $s) { __typename } }",
                     {"s": bad})
    (error,) = body["errors"]
    assert "$s" in error["message"] and ".supportingService[1].isBundle" in error["message"]
    assert "Boolean" in error["message"]

    missing = typed("bad")
    del missing["serviceSpecification"]
    body = await gql(client, "mutation($s: ServiceCreateInput!) { createService(service: $s) { __typename } }",
                     {"s": missing})
    assert "serviceSpecification" in body["errors"][0]["message"]
    literal = await gql(client, 'mutation { patchService(id: "x", update: {state: running}) { __typename } }')
    assert "ServiceStateType" in literal["errors"][0]["message"]
    assert literal["errors"][0]["locations"]
    assert (await client.get(f"{API}/service/bad-bundle")).status_code == 404  # nothing ran


async def test_extensions_may_not_repeat_a_declared_field(client: httpx.AsyncClient) -> None:
    doc = typed("ext")
    doc["extensions"] = {"name": "sneaky"}
    data = await ok(client, """mutation($s: ServiceCreateInput!) { createService(service: $s) {
        __typename ... on ValidationError { path message } } }""", {"s": doc})
    assert data["createService"]["__typename"] == "ValidationError"
    assert data["createService"]["path"] == "extensions"


async def test_policy_argument_reaches_the_work_as_rest_header_does(app: Starlette, client: httpx.AsyncClient) -> None:
    data = await ok(client, """mutation($s: ServiceCreateInput!) { createService(service: $s, policy: partial) {
        ... on ServicePayload { monitor { id request { header { name value } } } } } }""", {"s": typed("pol")})
    monitor = data["createService"]["monitor"]
    headers = {h["name"]: h["value"] for h in monitor["request"]["header"]}
    assert headers["X-Activation-Policy"] == "partial"
    await settle(app, data["createService"])
    data = await ok(client, """mutation { activateService(id: "pol-bundle", policy: atomic) {
        ... on ServicePayload { monitor { id request { header { name value } } } } } }""")
    headers = {h["name"]: h["value"] for h in data["activateService"]["monitor"]["request"]["header"]}
    assert headers["X-Activation-Policy"] == "atomic"
    await settle(app, data["activateService"])
