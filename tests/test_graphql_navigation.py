"""Navigation between services: members, bundles, dependencies, dependents, descendants (cycle-safe),
references to services held elsewhere, monitors and revisions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from resolvers.rules.documents import links_of
from resolvers.rules.patching import Patch
from store.uow import ALL_TENANTS
from tests.graphql import done, ok

SPEC = {"name": "vCPE"}


async def _graph(app: Starlette) -> None:
    """A (bundle) holds B by value and C by reference; B lists A back (a cycle), C again (shared), a service
    held elsewhere, and D by value. A relies on C and depends on a service held elsewhere."""
    resolvers: Resolvers = app.state.resolvers
    ctx = RequestContext(base_url="http://testserver", correlation_id="corr-graph")
    # Writes return at once: each waits (bounded) for its work before the next.

    await done(app, await resolvers.services.create(
        ctx, {"id": "C", "name": "C", "state": "designed", "serviceSpecification": SPEC}))
    await done(app, await resolvers.services.create(ctx, {
        "id": "A", "name": "A", "state": "designed", "isBundle": True, "serviceSpecification": SPEC,
        "supportingService": [
            {"id": "B", "name": "B", "isBundle": True, "serviceSpecification": SPEC, "supportingService": [
                {"id": "C"}, {"id": "ext-1", "href": "https://elsewhere.invalid/service/ext-1"},
                {"id": "D", "name": "D", "serviceSpecification": SPEC},
            ]},
            {"id": "C", "@referredType": "Service"},
        ],
        "serviceRelationship": [
            {"relationshipType": "reliesOn", "service": {"id": "C"}},
            {"relationshipType": "dependsOn", "service": {"id": "ext-2"}},
        ],
    }))
    # No write may close a supportingService cycle any more (docs/security.md), but data stored before that
    # rule may hold one: B lists A back, written straight into the store, as navigation must meet it.
    async with resolvers.store.write(ALL_TENANTS) as uow:
        row = await uow.services.get("B")
        assert row is not None
        doc = {**row.doc, "supportingService": [{"id": "A"}, *row.doc["supportingService"]]}
        owned = {link.dst_id for link in await uow.services.links_from(["B"]) if link.by_value}
        await uow.services.update("B", doc, links_of("B", doc, owned), row.version, datetime.now(UTC))


async def test_members_bundles_and_relationships(app: Starlette, client: httpx.AsyncClient) -> None:
    await _graph(app)
    data = await ok(client, """{
      a: service(id: "A") { supportingServices { id } supportingService { id name href }
                            dependencies { relationshipType service { id } } dependents { service { id } } }
      b: service(id: "B") { supportingServices { id } bundles { id } supportingService { id } }
      c: service(id: "C") { bundles { id } dependents { relationshipType service { id } }
                            dependencies { service { id } } }
    }""")
    a, b, c = data["a"], data["b"], data["c"]
    assert [s["id"] for s in a["supportingServices"]] == ["B", "C"]
    assert a["supportingService"][0]["name"] == "B"  # by value: rendered live
    assert a["supportingService"][1] == {"id": "C", "name": None, "href": None}  # by reference: as sent
    assert a["dependencies"] == [{"relationshipType": "reliesOn", "service": {"id": "C"}}]  # ext-2 is skipped
    assert a["dependents"] == []
    # The raw attribute keeps the reference held elsewhere; navigation skips it.
    assert [s["id"] for s in b["supportingService"]] == ["A", "C", "ext-1", "D"]
    assert [s["id"] for s in b["supportingServices"]] == ["A", "C", "D"]
    assert [s["id"] for s in b["bundles"]] == ["A"]
    assert sorted(s["id"] for s in c["bundles"]) == ["A", "B"]
    assert c["dependents"] == [{"relationshipType": "reliesOn", "service": {"id": "A"}}]
    assert c["dependencies"] == []


async def test_descendants_are_cycle_safe_and_skip_services_held_elsewhere(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await _graph(app)
    query = """query($d: Int!) { service(id: "A") { descendants(maxDepth: $d) { depth parentId service { id } } } }"""

    def flat(data: dict[str, Any]) -> list[tuple[int, str, str]]:
        return [(n["depth"], n["parentId"], n["service"]["id"]) for n in data["service"]["descendants"]]

    # Pre-order; each service once, under the bundle that reached it first; the cycle back to A ends there.
    assert flat(await ok(client, query, {"d": 5})) == [(1, "A", "B"), (2, "B", "D"), (1, "A", "C")]
    assert flat(await ok(client, query, {"d": 1})) == [(1, "A", "B"), (1, "A", "C")]
    # From B, A's members are already placed (C) or the root itself (B): the walk stops there.
    cycle = await ok(client, """{ service(id: "B") { descendants { depth parentId service { id } } } }""")
    assert flat(cycle) == [(1, "B", "A"), (1, "B", "C"), (1, "B", "D")]


async def test_descendants_depth_is_bounded(app: Starlette, client: httpx.AsyncClient) -> None:
    await _graph(app)
    body = await client.post("/graphql", json={"query": '{ service(id: "A") { descendants(maxDepth: 0) { depth } } }'})
    error = body.json()["errors"][0]
    assert error["message"] == "maxDepth: must be between 1 and 64; got 0"
    assert error["extensions"] == {"code": "ValidationFailed", "path": "maxDepth"}


async def test_monitors_and_revisions_of_a_service(app: Starlette, client: httpx.AsyncClient) -> None:
    await _graph(app)
    resolvers: Resolvers = app.state.resolvers
    monitor = {
        "@type": "Monitor", "state": "InProgress",
        "sourceHref": "http://testserver/tmf-api/serviceActivationAndConfiguration/v4/service/A",
        "request": {"method": "PATCH", "to": "/service/A", "body": "{}", "header": [{"name": "locale", "value": "en"}]},
        "response": {"statusCode": "202", "body": "", "header": []},
    }
    async with resolvers.store.write(ALL_TENANTS) as uow:  # a monitor the engine did not write: rendered as stored
        await uow.monitors.insert("mon-1", monitor, source_id="A", correlation_id="corr-graph",
                                  now=datetime.now(UTC))
    patched = await resolvers.services.patch(
        RequestContext(correlation_id="corr-patch"), "A", Patch("merge", {"description": "now described"})
    )
    assert patched.monitor is not None and patched.monitor["state"] == "Completed"  # no driver for a description
    data = await ok(client, """{ service(id: "A") {
        monitors { id href state sourceHref type request { method to body header { name value } }
                   response { statusCode body header { name } } service { id }
                   outcome members { serviceId action status state } }
        revisions { version operation actor correlationId changes state at }
    } }""")
    service = data["service"]
    monitors = {m["id"]: m for m in service["monitors"]}
    assert monitors.pop("mon-1") == {
        "id": "mon-1", "href": "http://testserver/tmf-api/serviceActivationAndConfiguration/v4/monitor/mon-1",
        "state": "InProgress", "sourceHref": monitor["sourceHref"], "type": "Monitor",
        "request": {"method": "PATCH", "to": "/service/A", "body": "{}", "header": [{"name": "locale", "value": "en"}]},
        "response": {"statusCode": "202", "body": "", "header": []}, "service": {"id": "A"},
        "outcome": None, "members": [],
    }
    # The engine's monitors of A: its creation (A, B and D designed by a driver each) and the patch.
    by_method = {m["request"]["method"]: m for m in monitors.values()}
    assert sorted(by_method) == ["PATCH", "POST"] and len(monitors) == 2
    created, described = by_method["POST"], by_method["PATCH"]
    assert (created["state"], created["outcome"], created["service"]) == ("Completed", "completed", {"id": "A"})
    assert sorted((m["serviceId"], m["action"], m["status"], m["state"]) for m in created["members"]) == [
        ("A", "design", "completed", "designed"), ("B", "design", "completed", "designed"),
        ("D", "design", "completed", "designed"),
    ]
    assert (described["id"], described["state"], described["outcome"]) == (patched.monitor["id"], "Completed",
                                                                            "completed")
    create, state, patch = service["revisions"]
    assert (create["version"], create["operation"], create["correlationId"]) == (1, "create", "corr-graph")
    # The state arrives when the design driver succeeds: a revision of its own, same correlation id.
    assert (state["version"], state["operation"], state["correlationId"], state["state"]) == (
        2, "state", "corr-graph", "designed")
    assert (patch["version"], patch["operation"], patch["correlationId"]) == (3, "patch", "corr-patch")
    assert patch["changes"] == [{"op": "add", "path": "/description", "value": "now described"}]
    assert patch["state"] == "designed" and patch["actor"] == "anonymous"
    assert datetime.fromisoformat(patch["at"]) >= datetime.fromisoformat(create["at"])

    again = await ok(client, """{ monitor(id: "mon-1") { id state service { name } }
                                  monitors(filter: {states: [InProgress]}) { totalCount nodes { id } }
                                  done: monitors(filter: {states: [Completed]}) { totalCount } }""")
    assert again["monitor"] == {"id": "mon-1", "state": "InProgress", "service": {"name": "A"}}
    assert again["monitors"] == {"totalCount": 1, "nodes": [{"id": "mon-1"}]}
    assert again["done"] == {"totalCount": 3}  # C and A created, A patched (B's cycle was stored directly)
