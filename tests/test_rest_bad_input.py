"""Bad input: each a 4xx TMF Error naming the problem, never a 500, never a partial write.

Requests that cannot write (queries, unknown ids, paths and methods) run against the shared 1,200-service
inventory; the others get a fresh database each and check that nothing was written.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from app.settings import Settings
from tests.tmf import API, MERGE, assert_tmf_error, create, minimal, stored


async def test_malformed_json(app: Starlette, client: httpx.AsyncClient) -> None:
    for raw in (b'{"state": "designed",', b"not json", b"\xff\xfe{}", b"", b"   "):
        response = await client.post(f"{API}/service", content=raw, headers={"Content-Type": "application/json"})
        assert_tmf_error(response, 400)
    created = await create(client, minimal())
    before = await stored(app, created["id"])
    response = await client.patch(f"{API}/service/{created['id']}", content=b"{oops", headers=MERGE)
    assert_tmf_error(response, 400, "not valid JSON")
    assert await stored(app, created["id"]) == before


@pytest.mark.parametrize(
    "raw",
    [
        '{"state": "designed", "serviceSpecification": {"name": "x"}, "n": 1e400}',
        '{"state": "designed", "serviceSpecification": {"name": "x"}, "n": NaN}',
        '{"state": "designed", "serviceSpecification": {"name": "x"}, "n": -Infinity}',
        '{"state": "designed", "serviceSpecification": {"name": "x"}, "n": ' + "9" * 5000 + "}",
        '{"state": "designed", "serviceSpecification": {"name": "x"}, "n": ' + "[" * 100 + "]" * 100 + "}",
        '{"state": "designed", "serviceSpecification": {"name": "x"}, "n": ' + "[" * 100000 + "]" * 100000 + "}",
    ],
    ids=["overflow", "nan", "infinity", "huge-int", "deep", "very-deep"],
)
async def test_json_no_store_can_hold_is_400(raw: str, app: Starlette, client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/service", content=raw, headers={"Content-Type": "application/json"})
    assert_tmf_error(response, 400)
    assert (await stored(app, "-")).services == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
async def test_post_with_wrong_content_type_is_415(content_type: str, client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/service", content=json.dumps(minimal()), headers={"Content-Type": content_type}
    )
    assert_tmf_error(response, 415, content_type)


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"serviceSpecification": {"name": "x"}}, ["state", "required"]),
        ({"state": "designed"}, ["serviceSpecification", "required"]),
        (minimal(serviceSpecification={}), ["serviceSpecification", "id or a name"]),
        (minimal(state="running"), ["state", "running"]),
        (minimal(isBundle="yes"), ["isBundle", "boolean"]),
        (minimal(relatedParty=[{"id": 5}]), ["relatedParty[0].id", "string"]),
        (minimal(relatedParty=[{"role": "owner"}]), ["relatedParty[0].id", "required"]),
        (minimal(startDate="tomorrow"), ["startDate", "ISO 8601"]),
        (minimal(serviceCharacteristic="speed=1"), ["serviceCharacteristic", "array"]),
        (minimal(serviceCharacteristic=[{"name": "speed"}]), ["serviceCharacteristic[0].value", "required"]),
        (minimal(supportingService=[{"name": "m", "isBundle": 1}]), ["supportingService[0].isBundle", "boolean"]),
        (minimal(name="nul\u0000inside"), ["name", "NUL"]),
        (minimal(id=""), ["id"]),
        ([minimal()], ["JSON object"]),
    ],
)
async def test_invalid_service_names_the_attribute(
    body: object, mentions: list[str], app: Starlette, client: httpx.AsyncClient
) -> None:
    response = await client.post(f"{API}/service", json=body)
    assert_tmf_error(response, 400, *mentions)
    assert (await stored(app, "-")).services == 0


async def test_lone_surrogate_is_400(app: Starlette, client: httpx.AsyncClient) -> None:
    raw = '{"state": "designed", "serviceSpecification": {"name": "x"}, "name": "\\ud800"}'
    response = await client.post(f"{API}/service", content=raw, headers={"Content-Type": "application/json"})
    assert_tmf_error(response, 400, "name")
    assert (await stored(app, "-")).services == 0


async def test_invalid_member_creates_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    body = minimal(
        isBundle=True,
        supportingService=[
            {"name": "fine member", "serviceSpecification": {"name": "a"}},
            {"name": "bad member", "serviceSpecification": {"name": "b"}, "isBundle": "no"},
        ],
    )
    before = await stored(app, "-")
    response = await client.post(f"{API}/service", json=body)
    assert_tmf_error(response, 400, "supportingService[1].isBundle")
    assert await stored(app, "-") == before and before.services == 0


async def test_taken_ids_conflict_and_create_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    await create(client, minimal(id="taken"))
    before = await stored(app, "taken")
    duplicate = await client.post(f"{API}/service", json=minimal(id="taken"))
    assert_tmf_error(duplicate, 409, "taken")
    member_taken = await client.post(
        f"{API}/service",
        json=minimal(id="new-parent", supportingService=[minimal(id="taken", name="by value")]),
    )
    assert_tmf_error(member_taken, 409, "taken")
    twice = await client.post(
        f"{API}/service", json=minimal(id="twice", supportingService=[minimal(id="twice", category="x")])
    )
    assert_tmf_error(twice, 400, "twice")
    assert await stored(app, "taken") == before and before.services == 1


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ("nosuch=1", ["nosuch", "not an attribute"]),
        ("vcpeModel.vendor=acme", ["vcpeModel.vendor", "@type"]),
        ("relatedParty.nosuch=1", ["relatedParty.nosuch"]),
        ("state.like=act", ["unknown operator", "like"]),
        ("startDate.after=2024-01-01", ["unknown operator", "after"]),
        ("state.gt.x=1", ["state"]),
        ("name*=(", ["name", "regular expression"]),
        ("name=~[a-", ["name", "regular expression"]),
        ("limit=ten", ["limit"]),
        ("limit=-1", ["limit"]),
        ("limit=1.5", ["limit"]),
        ("offset=abc", ["offset"]),
        ("offset=-5", ["offset"]),
        ("offset=99999999999999999999999", ["offset"]),
        ("offset=2147483648", ["offset"]),
        ("limit=" + "9" * 5000, ["limit", "too large"]),
        ("startDate.gt=yesterday", ["startDate", "ISO 8601"]),
        ("startDate=2024-13-45", ["startDate", "ISO 8601"]),
        ("endDate.lt=2024-02-30T00:00:00Z", ["endDate"]),
        ("isBundle=yes", ["isBundle", "true or false"]),
        ("hasStarted=1", ["hasStarted", "true or false"]),
        ("isBundle.gt=true", ["isBundle", "equality"]),
        ("state=running", ["state", "running"]),
        ("sort=nosuch", ["nosuch"]),
        ("sort=name,,state", ["sort"]),
        ("fields=nosuch", ["nosuch"]),
        ("fields=", ["fields"]),
        ("=x", ["without a name"]),
        ("name=a%00b", ["NUL"]),
    ],
)
async def test_bad_query_is_400_naming_it(query: str, mentions: list[str], inventory_client: httpx.AsyncClient) -> None:
    response = await inventory_client.get(f"{API}/service?{query}")
    assert_tmf_error(response, 400, *mentions)


async def test_extension_attributes_are_filterable_with_an_at_type_filter(client: httpx.AsyncClient) -> None:
    await create(client, minimal(**{"@type": "vCPE", "vcpeModel": {"vendor": "acme"}}))
    await create(client, minimal(**{"@type": "vCPE", "vcpeModel": {"vendor": "globex"}}))
    response = await client.get(f"{API}/service?@type=vCPE&vcpeModel.vendor=acme")
    assert response.status_code == 200
    assert [s["vcpeModel"]["vendor"] for s in response.json()] == ["acme"]


async def test_a_regex_the_database_refuses_is_400(settings: Settings, client: httpx.AsyncClient) -> None:
    """Python accepts named groups; PostgreSQL's regex engine does not: a 400 there, never a 500."""
    await create(client, minimal(name="abc"))
    response = await client.get(f"{API}/service?name*=(?P<x>a)bc")
    if settings.database_url.startswith("postgresql"):
        assert_tmf_error(response, 400, "name", "pattern")
    else:
        assert response.status_code == 200 and len(response.json()) == 1


async def test_single_retrieve_takes_only_fields(client: httpx.AsyncClient) -> None:
    created = await create(client, minimal())
    response = await client.get(f"{API}/service/{created['id']}?state=designed")
    assert_tmf_error(response, 400, "fields")


async def test_oversized_body_is_413(app: Starlette, client: httpx.AsyncClient) -> None:
    limit = app.state.settings.max_body_bytes
    body = json.dumps(minimal(description="x" * limit)).encode()
    declared = await client.post(f"{API}/service", content=body, headers={"Content-Type": "application/json"})
    assert_tmf_error(declared, 413, str(limit))

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the stream itself is bounded
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    streamed = await client.post(f"{API}/service", content=chunks(), headers={"Content-Type": "application/json"})
    assert_tmf_error(streamed, 413)
    assert (await stored(app, "-")).services == 0


@pytest.mark.parametrize(
    "raw_id", ["%7Bbraces%7D", "with%20space", "a%2Fb", "%2F%2F", "%00", "%25", "..%2F..%2Fetc", "%E2%9C%93", "a" * 400]
)
async def test_unknown_ids_with_odd_characters_are_404(raw_id: str, inventory_client: httpx.AsyncClient) -> None:
    url = f"{API}/service/{raw_id}"
    assert_tmf_error(await inventory_client.get(url), 404)
    assert_tmf_error(await inventory_client.patch(url, json={"name": "x"}, headers=MERGE), 404)
    assert_tmf_error(await inventory_client.delete(url), 404)
    assert_tmf_error(await inventory_client.get(f"{API}/monitor/{raw_id}"), 404)


async def test_an_id_with_odd_characters_round_trips_through_its_href(client: httpx.AsyncClient) -> None:
    created = await create(client, minimal(id="{a b/c}"))
    assert created["href"].endswith("/service/%7Ba%20b%2Fc%7D")
    got = await client.get(created["href"])
    assert got.status_code == 200 and got.json() == created


@pytest.mark.parametrize(
    "path", ["/nothing", f"{API}/nothing", "/tmf-api/", f"{API}/service-x", f"{API[:-3]}/v5/service"]
)
async def test_unknown_path_is_404_tmf_error(path: str, inventory_client: httpx.AsyncClient) -> None:
    assert_tmf_error(await inventory_client.get(path), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/service/x"),
        ("POST", "/service/x"),
        ("DELETE", "/service"),
        ("PATCH", "/service/"),
        ("POST", "/monitor"),
        ("PUT", "/swagger.json"),
    ],
)
async def test_wrong_method_is_405_tmf_error(method: str, path: str, inventory_client: httpx.AsyncClient) -> None:
    response = await inventory_client.request(method, f"{API}{path}", json={})
    assert_tmf_error(response, 405)
    assert response.headers.get("Allow")
