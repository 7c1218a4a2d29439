"""Start-up rules, `Allow` on every 405, and graph integrity (no self-membership, no supportingService cycle)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.routing import Route

from app.factory import create_app
from app.settings import Settings
from tests.events.support import API
from tests.graphql import ok

PREFIX_PATHS = ["service", "service/x", "monitor", "monitor/x", "hub", "hub/x", "hub/x/resume", "hub/x/deliveries",
                "swagger.json", "api-docs"]


def test_production_refuses_to_start_without_authentication() -> None:
    with pytest.raises(RuntimeError, match="production needs authentication"):
        create_app(Settings(environment="production"))
    assert create_app(Settings(environment="production", api_keys={"k": {"tenant": "t", "scopes": ["read"]}}))
    with pytest.raises(ValidationError, match="every tenant"):
        Settings(api_keys={"k": {"tenant": "*", "scopes": ["read"]}})
    with pytest.raises(ValidationError, match="JWT_ISSUER"):
        Settings(jwt_jwks_url="https://idp.example/jwks")


async def test_development_without_authentication_warns_loudly(database_url: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(database_url=database_url, migrate_on_start=False))
    with caplog.at_level(logging.WARNING, logger="tmf640"):
        async with app.router.lifespan_context(app):
            pass
    assert any("NO AUTHENTICATION" in r.getMessage() for r in caplog.records)


async def test_every_405_names_every_allowed_method(app: Starlette, client: httpx.AsyncClient) -> None:
    expected = {"service": "GET, HEAD, POST", "service/x": "GET, HEAD, PATCH, DELETE", "monitor": "GET, HEAD",
                "monitor/x": "GET, HEAD", "hub": "GET, HEAD, POST", "hub/x": "GET, HEAD, DELETE",
                # hub ids may hold "/": GET and DELETE of hub "x/resume" answer there too
                "hub/x/resume": "GET, HEAD, POST, DELETE", "hub/x/deliveries": "GET, HEAD, DELETE",
                "swagger.json": "GET, HEAD", "api-docs": "GET, HEAD"}
    for path in PREFIX_PATHS:
        response = await client.put(f"{API}/{path}")
        assert response.status_code == 405, path
        assert response.headers["Allow"] == expected[path], (path, response.headers["Allow"])
    for route in app.routes:  # and generally: a 405 on any route names at least that route's methods
        if isinstance(route, Route) and "PUT" not in (route.methods or ()):
            response = await client.request("PUT", route.path.replace("{id:tmf_id}", "x").replace(
                "{id:path}", "x").replace("{id}", "x"))
            assert response.status_code == 405, route.path
            assert set(route.methods or ()) <= set(response.headers["Allow"].split(", ")), route.path


def _service(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "state": "designed", "serviceSpecification": {"name": "s"}, **extra}


async def test_no_service_is_its_own_member_and_no_cycle_closes(app: Starlette, client: httpx.AsyncClient) -> None:
    me = await client.post(f"{API}/service", json=_service("self", id="self", isBundle=True,
                                                                supportingService=[{"id": "self"}]))
    assert me.status_code == 400 and "own member" in me.json()["message"], me.text
    a = await client.post(f"{API}/service", json=_service("a", id="a", isBundle=True))
    b = await client.post(f"{API}/service", json=_service("b", id="b", isBundle=True,
                                                           supportingService=[{"id": "a"}]))
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    own = await client.patch(f"{API}/service/a", json={"supportingService": [{"id": "a"}]},
                             headers={"Content-Type": "application/merge-patch+json"})
    assert own.status_code == 400 and "own member" in own.json()["message"]
    cycle = await client.patch(f"{API}/service/a", json={"supportingService": [{"id": "b"}]},
                               headers={"Content-Type": "application/merge-patch+json"})
    assert cycle.status_code == 422 and "a -> b -> a" in cycle.json()["message"], cycle.text
    # a reference to a service not held here, then that service created pointing back: still a cycle
    c = await client.post(f"{API}/service", json=_service("c", id="c", isBundle=True,
                                                           supportingService=[{"id": "d"}]))
    assert c.status_code == 201
    d = await client.post(f"{API}/service", json=_service("d", id="d", isBundle=True,
                                                           supportingService=[{"id": "c"}]))
    assert d.status_code == 422 and "d -> c -> d" in d.json()["message"], d.text
    data = await ok(client, """mutation { patchService(id: "a", mergePatch: {supportingService: [{id: "b"}]}) {
        __typename ... on Error { code message } } }""")
    assert data["patchService"]["code"] in ("DependencyCycle", "ValidationFailed"), data
    assert "a -> b -> a" in data["patchService"]["message"]
    fine = await client.patch(f"{API}/service/b", json={"description": "no new links"},
                              headers={"Content-Type": "application/merge-patch+json"})
    assert fine.status_code == 200, fine.text
