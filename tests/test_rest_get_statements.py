"""GET /service/{id} costs one SQL statement: members by value and work under way come with the document.

Statements are counted with SQLAlchemy's `before_cursor_execute` on the app's engines (tests/sqlcount.py).
"""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.sqlcount import counting

API = "/tmf-api/serviceActivationAndConfiguration/v4"


async def _settled(app: Starlette, client: httpx.AsyncClient, body: dict[str, object]) -> dict[str, object]:
    created = await client.post(f"{API}/service", json={"serviceSpecification": {"name": "vCPE"}, **body})
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]  # 201: the work is done


async def test_get_by_id_is_one_statement(app: Starlette, client: httpx.AsyncClient) -> None:
    service = await _settled(app, client, {"name": "plain", "state": "active",
                                           "serviceCharacteristic": [{"name": "speed", "value": 100}]})
    with counting(app.state.resolvers.store.db.engine) as seen:
        response = await client.get(f"{API}/service/{service['id']}")
    assert response.status_code == 200
    assert response.json()["serviceCharacteristic"] == [{"name": "speed", "value": 100}]
    assert len(seen) == 1, "\n".join(seen)
    assert not seen[0].lstrip().upper().startswith("BEGIN")


async def test_get_of_a_bundle_renders_members_by_value_in_the_same_statement(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    bundle = await _settled(app, client, {
        "name": "bundle", "state": "active", "isBundle": True,
        "supportingService": [{"name": "m1", "serviceSpecification": {"name": "vCPE"},
                               "serviceCharacteristic": [{"name": "x", "value": "é"}]},
                              {"name": "m2", "serviceSpecification": {"name": "vCPE"}}],
    })
    with counting(app.state.resolvers.store.db.engine) as seen:
        response = await client.get(f"{API}/service/{bundle['id']}")
    assert len(seen) == 1, "\n".join(seen)
    body = response.json()
    assert [m["name"] for m in body["supportingService"]] == ["m1", "m2"]
    assert body["supportingService"][0]["serviceCharacteristic"] == [{"name": "x", "value": "é"}]
    assert body == (await client.get(f"{API}/service/{bundle['id']}")).json()
    assert "x-activation" not in body


async def test_a_missing_service_costs_one_statement_too(app: Starlette, client: httpx.AsyncClient) -> None:
    with counting(app.state.resolvers.store.db.engine) as seen:
        response = await client.get(f"{API}/service/nothing-here")
    assert response.status_code == 404
    assert len(seen) == 1
