"""Every REST route, two tenants, each scope: refused without credentials (401) or scope (403), and nothing of
tenant B visible to tenant A (404 on B's resources, B's ids never in A's lists or counts).

The route list is the app's own (`app.routes`): a route added later fails `test_every_route_is_covered` until
this table says what it needs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from tests.events.support import API, Running, running
from tests.security.support import AT_LEAST, BELOW, auth, secured_settings, seed

PARAM = re.compile(r"\{id(:[a-z_]+)?\}")
# public probes; GraphQL checks per operation; /metrics is the operator's (tests/ops/test_metrics.py)
NOT_REST = {"/health", "/health/live", "/health/ready", "/graphql", "/metrics"}
# Pages and the published TMF640 document hold no tenant's data: anyone may load them (docs/security.md).
PUBLIC = {"/console", "/swagger"}
PUBLIC_DOCUMENTS = ("/swagger.json", "/api-docs")


def public(path: str) -> bool:
    return path in PUBLIC or path.rstrip("/").endswith(PUBLIC_DOCUMENTS)


def rest_routes(app: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for route in app.routes:
        if isinstance(route, Route) and route.path not in NOT_REST and not public(route.path):
            out.extend((method, route.path) for method in sorted((route.methods or set()) - {"HEAD"}))
    return out


def needed(method: str, path: str) -> str:
    """The scope a route needs (docs/security.md): the hub is admin's; reads need read; writes write."""
    if "/hub" in path:
        return "admin"
    return "read" if method == "GET" else "write"


def kind(path: str) -> str | None:
    """The resource an id in the path names, or None for a collection."""
    if not PARAM.search(path):
        return None
    return next(k for k in ("service", "monitor", "hub") if f"/{k}/" in path)


def concrete(path: str, ids: dict[str, str]) -> str:
    k = kind(path)
    return PARAM.sub(ids[k], path) if k else path


BODIES = {
    "service": {"name": "a-new", "state": "designed", "serviceSpecification": {"name": "s"}},
    "hub": {"callback": "http://127.0.0.1:9/a"},
}


async def call(client: httpx.AsyncClient, method: str, path: str, ids: dict[str, str], key: str | None
               ) -> httpx.Response:
    url = concrete(path, ids)
    headers = {**auth(key), "Prefer": "respond-async"}
    if method in ("POST", "PATCH"):
        target = "hub" if "/hub" in path else "service"
        body: Any = BODIES[target] if method == "POST" and not path.endswith(("resume", "resume/")) else {}
        if method == "PATCH":
            body = {"description": "from A"}
            headers["Content-Type"] = "application/merge-patch+json"
            return await client.request(method, url, json=body, headers=headers)
        return await client.request(method, url, json=body, headers=headers)
    return await client.request(method, url, headers=headers)


@pytest.fixture
async def secured(database_url: str) -> AsyncIterator[Running]:
    async with running(secured_settings(database_url)) as r:
        yield r


async def test_every_route_is_covered(secured: Running) -> None:
    routes = rest_routes(secured.app)
    assert len(routes) > 20
    for method, path in routes:
        assert method in ("GET", "POST", "PATCH", "DELETE"), (method, path)
        assert kind(path) in (None, "service", "monitor", "hub"), path


async def test_without_credentials_every_route_is_401(secured: Running) -> None:
    for method, path in rest_routes(secured.app):
        response = await call(secured.client, method, path, {"service": "x", "monitor": "x", "hub": "x"}, None)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
        assert response.json()["code"] == "Unauthenticated"
    wrong = await secured.client.get(f"{API}/service", headers=auth("not-a-key"))
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["WWW-Authenticate"]
    assert (await secured.client.get("/health")).status_code == 200  # probes need no credentials
    pages = [r.path for r in secured.app.routes if isinstance(r, Route) and public(r.path)]
    assert len(pages) >= 6, pages  # the console, Swagger UI and the document under each prefix
    for path in pages:
        assert (await secured.client.get(path)).status_code == 200, path


async def test_under_scoped_calls_are_403(secured: Running) -> None:
    ids = {"service": "x", "monitor": "x", "hub": "x"}
    checked = 0
    for method, path in rest_routes(secured.app):
        scope = needed(method, path)
        below = BELOW[scope]
        if below is None:
            continue  # no key holds less than read: covered by the 401 test
        response = await call(secured.client, method, path, ids, below)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert response.json()["code"] == "Forbidden"
        checked += 1
    assert checked > 10


async def test_tenant_a_sees_nothing_of_tenant_b_on_any_route(secured: Running) -> None:
    app, client = secured.app, secured.client
    b = await seed(app, client, "key-b-admin", "b-bundle")
    b_ids = set(b.values())
    for path in (f"{API}/service", f"{API}/monitor", f"{API}/hub"):  # before A has anything: counts are 0
        empty = await client.get(path, headers=auth("key-a-admin"))
        assert empty.status_code == 200 and empty.json() == [] and empty.headers["X-Total-Count"] == "0", path
    reads = [(m, p) for m, p in rest_routes(app) if m == "GET"]
    writes = [(m, p) for m, p in rest_routes(app) if m != "GET"]
    for method, path in reads + writes:  # reads first, while tenant A has nothing of its own
        key = AT_LEAST[needed(method, path)]
        response = await call(client, method, path, b, key)
        text = response.text
        if kind(path) is not None:  # exactly what an id nobody has gets: no existence leak
            assert response.status_code == 404, (method, path, response.status_code, text)
            unknown = await call(client, method, path, dict.fromkeys(b, "nobody-has-this"), key)
            assert unknown.status_code == 404
            hidden = response.json()["message"].replace(b[kind(path) or ""], "?")
            assert unknown.json()["message"].replace("nobody-has-this", "?") == hidden, (method, path)
            continue
        assert not any(i in text for i in b_ids), (method, path, text)
        if method == "GET":
            assert response.status_code == 200, (method, path, text)
            if isinstance(response.json(), list):
                assert int(response.headers["X-Total-Count"]) == len(response.json()), (method, path)
        else:
            assert response.status_code in (201, 202), (method, path, response.status_code, text)
    # B's resources are untouched, and the operator key of every tenant sees them
    for k in ("service", "member", "monitor"):
        path = f"{API}/{'monitor' if k == 'monitor' else 'service'}/{b[k]}"
        assert (await client.get(path, headers=auth("key-b-admin"))).status_code == 200, k
        assert (await client.get(path, headers=auth("key-ops"))).status_code == 200, k
        assert (await client.get(path, headers=auth("key-a-admin"))).status_code == 404, k
    assert (await client.get(f"{API}/hub/{b['hub']}", headers=auth("key-b-admin"))).status_code == 200
    listed = await client.get(f"{API}/service", headers=auth("key-b-admin"))
    assert {s["id"] for s in listed.json()} == {b["service"], b["member"]}
    assert listed.headers["X-Total-Count"] == "2"
    every = await client.get(f"{API}/service", headers=auth("key-ops"))
    assert {b["service"], b["member"]} <= {s["id"] for s in every.json()}
    refused = await client.post(f"{API}/service", json=BODIES["service"], headers=auth("key-ops"))
    assert refused.status_code == 403  # every tenant reads; it writes in none


async def test_a_reference_to_another_tenants_service_is_refused(secured: Running) -> None:
    b = await seed(secured.app, secured.client, "key-b-admin", "b-only")
    body = {"name": "a-bundle", "state": "designed", "isBundle": True, "serviceSpecification": {"name": "s"},
            "supportingService": [{"id": b["service"]}]}
    response = await secured.client.post(f"{API}/service", json=body, headers=auth("key-a-write"))
    assert response.status_code == 400, response.text
    assert "may refer to" in response.json()["message"]
    mine = {"name": "a-bundle", "state": "designed", "isBundle": True, "serviceSpecification": {"name": "s"},
            "supportingService": [{"id": "not-held-here"}]}
    assert (await secured.client.post(f"{API}/service", json=mine,
                                      headers={**auth("key-a-write"), "Prefer": "respond-async"})).status_code == 202
