"""PATCH (merge patch, JSON Patch), ETag / If-Match, non-patchable attributes, lifecycle 409, 415, and DELETE."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.tmf import API, JSON_PATCH, MERGE, assert_tmf_error, create, minimal, stored

BODY = minimal(
    name="a",
    description="to be removed",
    category="CFS",
    serviceDate="2024-01-01T00:00:00Z",
    relatedParty=[{"id": "1", "role": "owner"}],
    serviceCharacteristic=[{"name": "speed", "value": 100}],
)


def without_server_keys(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("id", "href")}


@pytest.mark.parametrize(
    "content_type", ["application/merge-patch+json", "application/json", "application/json; charset=utf-8"]
)
async def test_merge_patch(content_type: str, client: httpx.AsyncClient) -> None:
    created = await create(client, BODY)
    url = f"{API}/service/{created['id']}"
    patch = {
        "name": "b",
        "description": None,  # null removes (RFC 7396)
        "serviceSpecification": {"version": "2"},  # objects merge
        "relatedParty": [{"id": "2", "role": "user"}],  # arrays are replaced
        "vendorExtension": {"x": [1, {"y": None}], "gone": None},  # arrays as given; nulls in objects drop
    }
    before = int((await client.get(url)).headers["ETag"].strip('"'))
    response = await client.patch(url, json=patch, headers={"Content-Type": content_type})
    assert response.status_code == 200, response.text
    expected = {k: v for k, v in BODY.items() if k != "description"}
    expected |= {
        "name": "b",
        "serviceSpecification": {"id": "spec-1", "name": "vCPE", "version": "2"},
        "relatedParty": [{"id": "2", "role": "user"}],
        "vendorExtension": {"x": [1, {"y": None}]},
    }
    assert without_server_keys(response.json()) == expected
    assert response.headers["ETag"] == f'"{before + 1}"'  # one write, one version (no driver for names)
    got = await client.get(url)
    assert got.json() == response.json() and got.headers["ETag"] == f'"{before + 1}"'


async def test_json_patch_with_every_operation(client: httpx.AsyncClient) -> None:
    created = await create(client, BODY)
    url = f"{API}/service/{created['id']}"
    ops = [
        {"op": "test", "path": "/name", "value": "a"},
        {"op": "test", "path": "/id", "value": created["id"]},  # reading id is fine
        {"op": "replace", "path": "/name", "value": "b"},
        {"op": "add", "path": "/relatedParty/-", "value": {"id": "2", "role": "user"}},
        {"op": "remove", "path": "/description"},
        {"op": "move", "from": "/category", "path": "/serviceType"},
        {"op": "copy", "from": "/relatedParty/0", "path": "/relatedParty/-"},
        {"op": "replace", "path": "/serviceCharacteristic/0/value", "value": {"down": 10, "up": [1, 2]}},
        {"op": "test", "path": "/serviceType", "value": "CFS"},
    ]
    response = await client.patch(url, json=ops, headers=JSON_PATCH)
    assert response.status_code == 200, response.text
    expected = {k: v for k, v in BODY.items() if k not in ("description", "category")}
    expected |= {
        "name": "b",
        "serviceType": "CFS",
        "relatedParty": [{"id": "1", "role": "owner"}, {"id": "2", "role": "user"}, {"id": "1", "role": "owner"}],
        "serviceCharacteristic": [{"name": "speed", "value": {"down": 10, "up": [1, 2]}}],
    }
    assert without_server_keys(response.json()) == expected
    assert (await client.get(url)).json() == response.json()


async def test_failing_json_patch_test_changes_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, BODY)
    url = f"{API}/service/{created['id']}"
    before = await stored(app, created["id"])
    ops = [
        {"op": "replace", "path": "/name", "value": "changed"},
        {"op": "test", "path": "/category", "value": "RFS"},  # it is CFS
        {"op": "remove", "path": "/description"},
    ]
    response = await client.patch(url, json=ops, headers=JSON_PATCH)
    assert_tmf_error(response, 409, "test")
    assert await stored(app, created["id"]) == before  # document, version, revisions, events, count
    assert (await client.get(url)).json() == created


async def test_etag_and_if_match(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, BODY)
    url = f"{API}/service/{created['id']}"
    tag = (await client.get(url)).headers["ETag"]
    # Version 1 is the record as accepted (no state yet), version 2 the state the design driver reached.
    assert tag == '"2"'
    before = await stored(app, created["id"])

    stale = await client.patch(url, json={"name": "x"}, headers={**MERGE, "If-Match": '"7"'})
    assert_tmf_error(stale, 412, '"7"', tag)
    assert await stored(app, created["id"]) == before

    ok = await client.patch(url, json={"name": "x"}, headers={**MERGE, "If-Match": tag})
    assert ok.status_code == 200 and ok.json()["name"] == "x"
    new_tag = ok.headers["ETag"]
    assert new_tag != tag and (await client.get(url)).headers["ETag"] == new_tag

    old_again = await client.patch(url, json={"name": "y"}, headers={**MERGE, "If-Match": tag})
    assert_tmf_error(old_again, 412)
    weak = await client.patch(url, json={"name": "y"}, headers={**MERGE, "If-Match": f"W/{new_tag}"})
    assert weak.status_code == 200
    star = await client.patch(url, json={"name": "z"}, headers={**MERGE, "If-Match": "*"})
    assert star.status_code == 200


@pytest.mark.parametrize(
    ("kind", "patch", "attribute"),
    [
        ("merge", {"id": "other"}, "id"),
        ("merge", {"href": "http://elsewhere/service/1"}, "href"),
        ("merge", {"serviceDate": "2025-01-01T00:00:00Z"}, "serviceDate"),
        ("merge", {"serviceDate": None}, "serviceDate"),
        ("json", [{"op": "replace", "path": "/id", "value": "other"}], "id"),
        ("json", [{"op": "remove", "path": "/href"}], "href"),
        ("json", [{"op": "add", "path": "/serviceDate", "value": "2025-01-01T00:00:00Z"}], "serviceDate"),
        ("json", [{"op": "move", "from": "/serviceDate", "path": "/description"}], "serviceDate"),
    ],
)
async def test_id_href_service_date_are_not_patchable(
    kind: str, patch: Any, attribute: str, app: Starlette, client: httpx.AsyncClient
) -> None:
    created = await create(client, BODY)
    before = await stored(app, created["id"])
    response = await client.patch(
        f"{API}/service/{created['id']}", json=patch, headers=MERGE if kind == "merge" else JSON_PATCH
    )
    assert_tmf_error(response, 400, attribute, "not patchable")
    assert await stored(app, created["id"]) == before


async def test_echoing_the_resource_back_is_not_a_change(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, BODY)
    tag = (await client.get(f"{API}/service/{created['id']}")).headers["ETag"]
    before = await stored(app, created["id"])
    response = await client.patch(f"{API}/service/{created['id']}", json=created, headers=MERGE)
    assert response.status_code == 200 and response.json() == created
    assert response.headers["ETag"] == tag
    assert await stored(app, created["id"]) == before  # no new version, revision or event


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("terminated", "active", "none"),
        ("active", "designed", "inactive, terminated"),
        ("reserved", "feasibilityChecked", "inactive, active, terminated"),
    ],
)
async def test_forbidden_transition_is_409_naming_allowed_states(
    start: str, target: str, allowed: str, app: Starlette, client: httpx.AsyncClient
) -> None:
    created = await create(client, minimal(state=start))
    before = await stored(app, created["id"])
    response = await client.patch(f"{API}/service/{created['id']}", json={"state": target}, headers=MERGE)
    body = assert_tmf_error(response, 409, start, target, f"allowed from {start!r}: {allowed}")
    assert body["code"] == "InvalidTransition"
    assert await stored(app, created["id"]) == before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data", "application/x-www-form-urlencoded"]
)
async def test_other_patch_content_types_are_415(content_type: str, app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, BODY)
    before = await stored(app, created["id"])
    response = await client.patch(
        f"{API}/service/{created['id']}", content=b'{"name": "x"}', headers={"Content-Type": content_type}
    )
    assert_tmf_error(response, 415, "merge-patch+json", "json-patch+json")
    assert await stored(app, created["id"]) == before


async def test_patch_unknown_service_is_404(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"{API}/service/nope", json={"name": "x"}, headers=MERGE)
    assert_tmf_error(response, 404, "nope")


async def test_delete_then_get_is_404(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, BODY)
    url = f"{API}/service/{created['id']}"
    response = await client.delete(url)
    assert response.status_code == 204 and response.content == b""
    assert_tmf_error(await client.get(url), 404, created["id"])
    assert_tmf_error(await client.delete(url), 404)
    assert (await stored(app, created["id"])).doc is None


async def test_delete_honours_if_match(app: Starlette, client: httpx.AsyncClient) -> None:
    created = await create(client, BODY)
    url = f"{API}/service/{created['id']}"
    old_tag = (await client.get(url)).headers["ETag"]
    new_tag = (await client.patch(url, json={"name": "v2"}, headers=MERGE)).headers["ETag"]
    assert new_tag != old_tag
    before = await stored(app, created["id"])
    assert_tmf_error(await client.delete(url, headers={"If-Match": old_tag}), 412)
    assert await stored(app, created["id"]) == before
    assert (await client.delete(url, headers={"If-Match": new_tag})).status_code == 204
    assert (await client.get(url)).status_code == 404
