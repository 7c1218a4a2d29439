"""Two tenants and every scope, as API keys (TMF640_API_KEYS), for the security tests."""

from __future__ import annotations

from typing import Any

import httpx

from app.settings import Settings
from resolvers.context import Caller, RequestContext
from tests.events.support import API, event_settings

OPERATOR = RequestContext(caller=Caller(identity="test", tenant="*", scopes=frozenset({"admin"})))


async def finished(app: Any, monitor_id: str, seconds: float = 60.0) -> dict[str, Any]:
    """The Monitor once final, whichever tenant it belongs to."""
    monitor = await app.state.resolvers.engine.wait(OPERATOR, monitor_id, seconds)
    assert monitor is not None and monitor["state"] in ("Completed", "InError"), monitor
    return dict(monitor)

KEYS: dict[str, dict[str, Any]] = {
    "key-a-read": {"tenant": "tenant-a", "scopes": ["read"]},
    "key-a-write": {"tenant": "tenant-a", "scopes": ["write"]},
    "key-a-admin": {"tenant": "tenant-a", "scopes": ["admin"]},
    "key-b-admin": {"tenant": "tenant-b", "scopes": ["admin"]},
    "key-ops": {"tenant": "*", "scopes": ["admin"]},
}
BELOW = {"read": None, "write": "key-a-read", "admin": "key-a-write"}  # a key of tenant A one scope short
AT_LEAST = {"read": "key-a-read", "write": "key-a-write", "admin": "key-a-admin"}


def secured_settings(database_url: str, **overrides: Any) -> Settings:
    return event_settings(database_url, api_keys=KEYS, **overrides)


def auth(key: str | None) -> dict[str, str]:
    return {} if key is None else {"Authorization": f"Bearer {key}"}


def bundle(name: str) -> dict[str, Any]:
    return {
        "name": name, "state": "active", "isBundle": True, "serviceSpecification": {"name": "s"},
        "supportingService": [{"name": f"{name}-member", "state": "active", "serviceSpecification": {"name": "s"}}],
    }


async def seed(app: Any, client: httpx.AsyncClient, key: str, name: str) -> dict[str, str]:
    """A bundle with one member by value, its Monitor and a hub listener, all of `key`'s tenant."""
    created = await client.post(f"{API}/service", json=bundle(name), headers={**auth(key), "Prefer": "respond-async"})
    assert created.status_code == 202, created.text
    monitor = created.json()
    await finished(app, monitor["id"])
    got = await client.get(f"{API}/service?name={name}", headers=auth(key))
    service = got.json()[0]
    hub = await client.post(f"{API}/hub", json={"callback": "http://127.0.0.1:9/listener"}, headers=auth(key))
    assert hub.status_code == 201, hub.text
    return {"service": service["id"], "member": service["supportingService"][0]["id"], "monitor": monitor["id"],
            "hub": hub.json()["id"]}
