"""Helpers for GraphQL tests: posting operations, selecting every TMF attribute, checking typed fields."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLType
from starlette.applications import Starlette

from resolvers.context import RequestContext
from resolvers.services import ServiceResult
from schema.build import build_schema

POLYMORPHIC = {
    "type": "@type", "baseType": "@baseType", "schemaLocation": "@schemaLocation", "referredType": "@referredType",
    "serviceRelationshipCharacteristic": "ServiceRelationshipCharacteristic",
}
# Fields that are not TMF attributes: navigation, history and server metadata.
NOT_TMF = {"supportingServices", "bundles", "dependencies", "dependents", "descendants", "monitors", "revisions",
           "etag", "document", "extensions", "service", "nodeId"}

_SCHEMA = build_schema()._schema


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    """POST one operation to /graphql; the HTTP status is always 200 for a well-formed request."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ok(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data of an operation that must not fail."""
    body = await gql(client, query, variables)
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def finished(app: Starlette, monitor_id: str, seconds: float = 30.0) -> dict[str, Any]:
    """The monitor once final: mutations return at once, the engine's notification wakes this (bounded)."""
    ctx = RequestContext(base_url="http://testserver")
    monitor = await app.state.resolvers.engine.wait(ctx, monitor_id, seconds)
    assert monitor is not None, monitor_id
    assert monitor["state"] in ("Completed", "InError"), f"monitor {monitor_id} still {monitor['state']}"
    return dict(monitor)


async def settle(app: Starlette, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Wait for the work a mutation payload's `monitor { id }` tracks; the final monitor (None: no work)."""
    monitor = payload.get("monitor")
    return await finished(app, monitor["id"]) if monitor else None


async def done(app: Starlette, result: ServiceResult, seconds: float = 30.0) -> None:
    """Wait for the work a resolver write started (writes return at once) and check it completed."""
    if result.monitor is not None:
        monitor = await finished(app, str(result.monitor["id"]), seconds)
        assert monitor["state"] == "Completed", monitor


def _named(t: GraphQLType) -> GraphQLType:
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        t = t.of_type
    return t


def tmf_selection(type_name: str, ref_depth: int = 2) -> str:
    """A selection of every TMF attribute of `type_name`, nested types included (`extensions` too).

    ServiceRefOrValue nests itself (supportingService, serviceRelationship.service); it is expanded
    `ref_depth` times, then only its id is selected.
    """
    gtype = _SCHEMA.type_map[type_name]
    assert isinstance(gtype, GraphQLObjectType)
    parts = []
    for name, field in gtype.fields.items():
        inner = _named(field.type)
        if name in NOT_TMF - {"extensions", "service"} or field.args:
            continue
        if name == "service" and type_name != "ServiceRelationship":
            continue
        if isinstance(inner, GraphQLObjectType):
            if inner.name == "ServiceRefOrValue":
                sub = tmf_selection(inner.name, ref_depth - 1) if ref_depth > 0 else "id"
            else:
                sub = tmf_selection(inner.name, ref_depth)
            parts.append(f"{name} {{ {sub} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def assert_typed_matches(typed: Any, doc: Any, path: str = "") -> None:
    """Every typed TMF field equals the document's attribute; `extensions` holds exactly the others."""
    if not isinstance(typed, dict):
        assert typed == doc, f"{path}: {typed!r} != {doc!r}"
        return
    assert isinstance(doc, dict), path
    declared = set()
    for name, value in typed.items():
        if name in NOT_TMF - {"service"} or (name == "service" and "relationshipType" not in typed):
            continue
        key = POLYMORPHIC.get(name, name)
        declared.add(key)
        if value is None:
            assert doc.get(key) is None, f"{path}.{key} is null but the document has {doc.get(key)!r}"
        elif isinstance(value, list):
            assert isinstance(doc.get(key), list) and len(doc[key]) == len(value), f"{path}.{key}"
            for i, (t, d) in enumerate(zip(value, doc[key], strict=True)):
                assert_typed_matches(t, d, f"{path}.{key}[{i}]")
        else:
            assert_typed_matches(value, doc.get(key), f"{path}.{key}")
    if "extensions" in typed and len(typed) > 2:
        extra = {k: v for k, v in doc.items() if k not in declared}
        assert (typed["extensions"] or {}) == extra, f"{path}.extensions"
