"""Expected failures as typed results, unexpected ones masked, and the document limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from app.factory import create_app
from app.settings import ApiKeyGrant, Settings
from resolvers.api import Resolvers
from store.uow import ALL_TENANTS
from tests.graphql import gql, ok, settle

DETAILS = {
    "NotFoundError": "resource id",
    "InvalidTransitionError": "current requested allowed",
    "ValidationError": "path",
    "PreconditionFailedError": "expected actual",
    "ServicePayload": "correlationId service { id state etag } monitor { id state }",
}


def result(*members: str) -> str:
    """A selection of a mutation result union with the given members (GraphQL refuses impossible spreads)."""
    spreads = " ".join(f"... on {m} {{ {DETAILS[m]} }}" for m in members if m in DETAILS)
    return f"__typename ... on Error {{ message code }} {spreads}"


ALL = ("ServicePayload", "NotFoundError", "InvalidTransitionError", "ValidationError", "PreconditionFailedError")
CREATE = f"""mutation($input: JSON!) {{
  createService(input: $input) {{ {result("ServicePayload", "ValidationError")} }} }}"""
PATCH = f"""mutation($id: ID!, $merge: JSON, $json: JSON, $ifMatch: String) {{
  patchService(id: $id, mergePatch: $merge, jsonPatch: $json, ifMatch: $ifMatch) {{ {result(*ALL)} }} }}"""
SERVICE = {"name": "s", "state": "designed", "serviceSpecification": {"name": "vCPE"}}


def verb(name: str) -> str:
    return f"mutation($id: ID!, $ifMatch: String) {{ {name}(id: $id, ifMatch: $ifMatch) {{ {result(*ALL)} }} }}"


async def create(client: httpx.AsyncClient, app: Starlette, **attrs: Any) -> dict[str, Any]:
    """Create a service and wait for its work (mutations return at once); the service as it then stands."""
    result = (await ok(client, CREATE, {"input": {**SERVICE, **attrs}}))["createService"]
    assert result["__typename"] == "ServicePayload", result
    await settle(app, result)
    return await current(client, result["service"]["id"])


async def current(client: httpx.AsyncClient, id: str) -> dict[str, Any]:
    service: dict[str, Any] = (await ok(client, "query($id: ID!) { service(id: $id) { id state etag } }",
                                        {"id": id}))["service"]
    return service


async def test_not_found(client: httpx.AsyncClient) -> None:
    patched = (await ok(client, PATCH, {"id": "nope", "merge": {"name": "x"}}))["patchService"]
    assert patched == {"__typename": "NotFoundError", "message": "Service 'nope' does not exist", "code": "NotFound",
                       "resource": "Service", "id": "nope"}
    activated = (await ok(client, verb("activateService"), {"id": "nope"}))["activateService"]
    assert activated["__typename"] == "NotFoundError"
    deleted = await ok(client, 'mutation { deleteService(id: "nope") { __typename ... on Error { code } } }')
    assert deleted["deleteService"] == {"__typename": "NotFoundError", "code": "NotFound"}
    assert (await ok(client, '{ service(id: "nope") { id } monitor(id: "nope") { id } }')) == {
        "service": None, "monitor": None
    }


async def test_invalid_transition_names_current_requested_and_allowed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    service = await create(client, app, state="active")
    back = (await ok(client, PATCH, {"id": service["id"], "merge": {"state": "designed"}}))["patchService"]
    assert back["__typename"] == "InvalidTransitionError"
    assert (back["current"], back["requested"], back["allowed"]) == ("active", "designed", ["inactive", "terminated"])
    resumed = (await ok(client, verb("resumeService"), {"id": service["id"]}))["resumeService"]
    assert resumed["__typename"] == "InvalidTransitionError"
    assert resumed["message"] == "resume applies to a service in state inactive; this one is 'active'"
    assert resumed["current"] == "active"
    terminated = (await ok(client, verb("terminateService"), {"id": service["id"]}))["terminateService"]
    assert terminated["service"]["state"] == "active"  # returned at once: the driver has not terminated it yet
    assert terminated["monitor"]["state"] == "InProgress"
    assert (await settle(app, terminated) or {})["state"] == "Completed"
    assert (await current(client, service["id"]))["state"] == "terminated"
    again = (await ok(client, verb("activateService"), {"id": service["id"]}))["activateService"]
    assert (again["__typename"], again["current"], again["requested"], again["allowed"]) == (
        "InvalidTransitionError", "terminated", "active", []
    )


async def test_lifecycle_verbs_move_the_state(app: Starlette, client: httpx.AsyncClient) -> None:
    service = await create(client, app)
    states = []
    for name in ("activateService", "suspendService", "resumeService", "terminateService"):
        result = (await ok(client, verb(name), {"id": service["id"]}))[name]
        assert result["__typename"] == "ServicePayload", result
        assert result["monitor"] is not None  # each verb asks a driver: the state moves when it succeeds
        await settle(app, result)
        states.append((await current(client, service["id"]))["state"])
    assert states == ["active", "inactive", "active", "terminated"]
    suspended = (await ok(client, verb("suspendService"), {"id": service["id"]}))["suspendService"]
    assert suspended["__typename"] == "InvalidTransitionError"


async def test_validation_error_names_the_attribute(app: Starlette, client: httpx.AsyncClient) -> None:
    missing = (await ok(client, CREATE, {"input": {"name": "no state", "serviceSpecification": {"id": "1"}}}))
    assert missing["createService"] == {"__typename": "ValidationError", "message": "state: is required",
                                        "code": "ValidationFailed", "path": "state"}
    nested = {**SERVICE, "supportingService": [{"name": "m", "serviceCharacteristic": {"name": "not a list"}}]}
    result = (await ok(client, CREATE, {"input": nested}))["createService"]
    assert result["__typename"] == "ValidationError"
    assert result["path"] == "supportingService[0].serviceCharacteristic"
    service = await create(client, app)
    both = (await ok(client, PATCH, {"id": service["id"], "merge": {}, "json": []}))["patchService"]
    assert (both["__typename"], both["path"], both["message"]) == (
        "ValidationError", None, "give exactly one of update, operations, mergePatch and jsonPatch"
    )
    not_patchable = (await ok(client, PATCH, {"id": service["id"], "merge": {"href": "x"}}))["patchService"]
    assert (not_patchable["__typename"], not_patchable["path"]) == ("ValidationError", "href")
    not_json = (await ok(client, CREATE, {"input": [1, 2]}))["createService"]
    assert not_json["__typename"] == "ValidationError"


async def test_precondition_failed_on_a_stale_etag(app: Starlette, client: httpx.AsyncClient) -> None:
    service = await create(client, app)
    # Version 1 is the service as accepted (no state yet), version 2 the state its design driver reached.
    assert service["etag"] == '"2"'
    changed = (await ok(client, PATCH, {"id": service["id"], "merge": {"name": "b"}, "ifMatch": '"2"'}))
    assert changed["patchService"]["service"]["etag"] == '"3"'  # a name needs no driver: done at once
    stale = (await ok(client, PATCH, {"id": service["id"], "merge": {"name": "c"}, "ifMatch": "2"}))["patchService"]
    assert (stale["__typename"], stale["expected"], stale["actual"]) == ("PreconditionFailedError", '"2"', '"3"')
    deleted = await ok(client, f'mutation {{ deleteService(id: "{service["id"]}", ifMatch: "2") {{ __typename }} }}')
    assert deleted["deleteService"]["__typename"] == "PreconditionFailedError"


async def test_conflict(app: Starlette, client: httpx.AsyncClient) -> None:
    await create(client, app, id="taken")
    again = (await ok(client, CREATE, {"input": {**SERVICE, "id": "taken"}}))["createService"]
    assert again == {"__typename": "ConflictError", "message": "a service with id 'taken' already exists",
                     "code": "Conflict"}
    test_fails = [{"op": "test", "path": "/name", "value": "other"}, {"op": "replace", "path": "/name", "value": "x"}]
    failed = (await ok(client, PATCH, {"id": "taken", "json": test_fails}))["patchService"]
    assert failed["__typename"] == "ConflictError"


async def test_unexpected_failures_are_masked(app: Starlette, client: httpx.AsyncClient) -> None:
    await create(client, app, id="m")
    resolvers: Resolvers = app.state.resolvers
    async with resolvers.store.write(ALL_TENANTS) as uow:  # a real server fault: a table is gone
        await uow.conn.execute(text("DROP TABLE monitor_attr"))
        await uow.conn.execute(text("DROP TABLE monitor"))
    body = await gql(client, '{ service(id: "m") { id monitors { id } } }')
    assert body["data"] == {"service": None}
    assert body["errors"] == [
        {"message": "Unexpected error.", "locations": [{"line": 1, "column": 25}], "path": ["service", "monitors"]}
    ]


async def test_query_mistakes_are_named(client: httpx.AsyncClient) -> None:
    body = await gql(client, '{ services(filter: {where: [{path: "colour", values: ["red"]}]}) { totalCount } }')
    assert body["errors"][0]["extensions"] == {"code": "InvalidQuery", "path": "colour"}
    assert "colour: is not an attribute of Service" in body["errors"][0]["message"]
    body = await gql(client, '{ services(after: "bm90IGEgY3Vyc29y") { totalCount } }')
    assert body["errors"][0]["extensions"] == {"code": "InvalidQuery", "path": "after"}
    body = await gql(client, "{ services(first: -1) { totalCount } }")
    assert body["errors"][0]["message"] == "first: must be zero or more; got -1"
    body = await gql(client, '{ services(filter: {where: [{path: "startDate", op: GT, values: ["soon"]}]}) '
                             "{ totalCount } }")
    assert body["errors"][0]["extensions"]["path"] == "startDate"


def _deep(levels: int) -> str:
    return "query Deep { service(id: \"x\") { " + "supportingServices { " * levels + "id" + " }" * levels + " } }"


async def test_depth_limit_refuses_deep_queries(client: httpx.AsyncClient) -> None:
    # Depth counts the levels below the operation's top field: service(0) > supportingServices(1..n) > id(n+1).
    assert "errors" not in await gql(client, _deep(14))
    body = await gql(client, _deep(15))
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["'Deep' exceeds maximum operation depth of 15"]


async def test_alias_and_token_limits(client: httpx.AsyncClient) -> None:
    aliases = " ".join(f'a{i}: service(id: "{i}") {{ id }}' for i in range(51))
    body = await gql(client, f"{{ {aliases} }}")
    assert [e["message"] for e in body["errors"]] == ["51 aliases found. Allowed: 50"]
    # 20,001 tokens are ~220 KB: the byte cap (TMF640_GRAPHQL_MAX_DOCUMENT_BYTES) refuses them before any parse
    huge = "{ " + " ".join("__typename" for _ in range(20_001)) + " }"
    response = await client.post("/graphql", json={"query": huge})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "DocumentTooLarge"


async def test_token_limit(settings: Settings) -> None:
    application = create_app(settings.model_copy(update={"graphql_max_tokens": 500}))
    async with application.router.lifespan_context(application), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client:
        body = await gql(client, "{ " + " ".join("__typename" for _ in range(501)) + " }")
    assert [e["message"] for e in body["errors"]] == [
        "Syntax Error: Document contains more than 500 tokens. Parsing aborted."
    ]


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    key = {"test-key": ApiKeyGrant(tenant="default", scopes=["admin"])}  # production needs authentication
    tight = settings.model_copy(update={"graphql_max_depth": 3, "graphql_max_aliases": 1, "environment": "production",
                                        "api_keys": key})
    application = create_app(tight)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     headers={"Authorization": "Bearer test-key"}) as c:
            yield c


async def test_limits_come_from_settings_and_graphiql_only_in_development(
    client: httpx.AsyncClient, strict_client: httpx.AsyncClient
) -> None:
    assert "errors" not in await gql(strict_client, _deep(2))
    body = await gql(strict_client, _deep(3))
    assert [e["message"] for e in body["errors"]] == ["'Deep' exceeds maximum operation depth of 3"]
    body = await gql(strict_client, '{ a: service(id: "1") { id } b: service(id: "2") { id } }')
    assert [e["message"] for e in body["errors"]] == ["2 aliases found. Allowed: 1"]
    html = {"accept": "text/html"}
    assert (await strict_client.get("/graphql", headers=html)).status_code == 404
    page = await client.get("/graphql", headers=html)
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_request_bodies_are_bounded(client: httpx.AsyncClient) -> None:
    big = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * 1_100_000}}).encode()
    declared = await client.post("/graphql", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.json() == {"errors": [{"message": "the request body is larger than 1048576 bytes"}]}

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    streamed = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    small = await client.post("/graphql", json={"query": "{ __typename }"})
    assert small.json() == {"data": {"__typename": "Query"}}


async def test_bodies_are_read_by_the_rest_rules(client: httpx.AsyncClient) -> None:
    """Finite numbers and bounded nesting, whether the document arrives as a variable or as a literal."""
    mutation = "mutation($i: JSON!) { createService(input: $i) { __typename ... on Error { message } } }"
    deep = '{"x": ' * 100 + "1" + "}" * 100
    body = f'{{"query": "{mutation}", "variables": {{"i": {deep}}}}}'
    refused = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert refused.status_code == 400
    assert refused.json() == {"errors": [{"message": "the body nests deeper than 68 levels"}]}
    nan = f'{{"query": "{mutation}", "variables": {{"i": {{"value": NaN}}}}}}'
    refused = await client.post("/graphql", content=nan, headers={"content-type": "application/json"})
    assert refused.status_code == 400 and "NaN is not a JSON value" in refused.text
    literal = "{x: " * 65 + "1" + "}" * 65
    query = f"mutation {{ createService(input: {literal}) {{ __typename ... on Error {{ message }} }} }}"
    result = await ok(client, query)
    assert result["createService"] == {"__typename": "ValidationError", "message": "input: nests deeper than 64 levels"}


async def test_ids_no_database_can_hold_are_unknown_or_refused(client: httpx.AsyncClient) -> None:
    found = await ok(client, '{ service(id: "a\\u0000b") { id } monitor(id: "\\u0000") { id } }')
    assert found == {"service": None, "monitor": None}
    patched = (await ok(client, PATCH, {"id": "a\x00b", "merge": {"name": "x"}}))["patchService"]
    assert patched["__typename"] == "NotFoundError"
    surrogate = '{"query": "query($id: ID!) { service(id: $id) { id } }", "variables": {"id": "\\ud800"}}'
    refused = await client.post("/graphql", content=surrogate, headers={"content-type": "application/json"})
    assert refused.status_code == 400
    assert refused.json() == {"errors": [{"message": "the body contains a lone surrogate (\\ud800-\\udfff)"}]}
