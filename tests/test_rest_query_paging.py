"""Sort, paging headers (X-Total-Count, X-Result-Count, 200/206, Link) and attribute selection on 1,200 services."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.inventory import ODD_SERVICE_DATE, SIZE, Inventory, instant

API = "/tmf-api/serviceActivationAndConfiguration/v4"
Doc = dict[str, Any]
ACTIVE_OR_INACTIVE = "state=active,inactive"


def links(response: httpx.Response) -> dict[str, str]:
    """rel -> URL of a Link header."""
    header = response.headers.get("Link", "")
    return {rel: url for url, rel in re.findall(r'<([^>]*)>;\s*rel="([a-z]+)"', header)}


def relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def expected_name_then_start_desc(docs: list[Doc]) -> list[str]:
    """`sort=name,-startDate`: name ascending (code point order), then start instant descending, then id;
    missing values last in either direction. Built from stable sorts, least significant key first."""
    out = sorted(docs, key=lambda d: d["id"])
    out.sort(key=lambda d: (instant(d.get("startDate")) is None, -(instant(d.get("startDate")) or _ZERO).timestamp()))
    out.sort(key=lambda d: (d.get("name") is None, d.get("name") or ""))
    return [d["id"] for d in out]


_ZERO = datetime(1970, 1, 1, tzinfo=UTC)


async def fetch(client: httpx.AsyncClient, query: str) -> httpx.Response:
    response = await client.get(f"{API}/service?{query}")
    assert response.status_code in (200, 206), response.text
    return response


async def test_sort_by_name_then_start_date_descending(
    inventory: Inventory, inventory_client: httpx.AsyncClient
) -> None:
    expected = expected_name_then_start_desc(inventory.docs)
    got: list[str] = []
    for offset in range(0, SIZE, 500):
        response = await fetch(inventory_client, f"sort=name,-startDate&offset={offset}&limit=500&fields=none")
        got.extend(item["id"] for item in response.json())
    assert got == expected
    again = await fetch(inventory_client, "sort=name,-startDate&offset=500&limit=500&fields=none")
    assert [i["id"] for i in again.json()] == expected[500:1000]  # stable: the same page twice


async def test_sort_descending_with_filter(inventory: Inventory, inventory_client: httpx.AsyncClient) -> None:
    matches = [d for d in inventory.docs if d["serviceSpecification"]["name"] == "Voice"]
    ordered = sorted(matches, key=lambda d: d["id"])
    ordered.sort(key=lambda d: d["state"], reverse=True)  # reverse=True keeps ties in their (id) order
    expected = [d["id"] for d in ordered]
    response = await fetch(inventory_client, "serviceSpecification.name=Voice&sort=-state&limit=1000")
    assert [i["id"] for i in response.json()] == expected


async def test_sort_on_an_array_path_uses_its_least_value_ascending(
    inventory: Inventory, inventory_client: httpx.AsyncClient
) -> None:
    """A path without a projection (relatedParty.id) sorts by its indexed values: numbers numerically."""

    def least(d: Doc) -> tuple[bool, float, str, str]:
        ids = [p["id"] for p in d["relatedParty"]]
        return (not ids, min((float(i) for i in ids), default=0), min(ids, default=""), d["id"])

    expected = [d["id"] for d in sorted((d for d in inventory.docs if d["state"] == "active"), key=least)]
    response = await fetch(inventory_client, "state=active&sort=relatedParty.id&limit=1000&fields=none")
    assert [i["id"] for i in response.json()] == expected


async def test_sort_on_a_date_without_projection_compares_instants(
    inventory: Inventory, inventory_client: httpx.AsyncClient
) -> None:
    """`sort=-serviceDate`: instants descending whatever their offset, then the values that are not dates
    (text, descending), then services without one; ties by id."""

    def key(d: Doc) -> tuple[int, float, str, str]:
        text = d.get("serviceDate")
        if text is None:
            return (2, 0.0, "", d["id"])
        if text == ODD_SERVICE_DATE:
            return (1, 0.0, "", d["id"])
        return (0, -(instant(text) or _ZERO).timestamp(), "", d["id"])

    expected = [d["id"] for d in sorted((d for d in inventory.docs if d["state"] == "designed"), key=key)]
    response = await fetch(inventory_client, "state=designed&sort=-serviceDate&limit=1000&fields=none")
    assert [i["id"] for i in response.json()] == expected


async def test_paging_headers_and_links(inventory: Inventory, inventory_client: httpx.AsyncClient) -> None:
    expected = sorted(d["id"] for d in inventory.docs if d["state"] in ("active", "inactive"))
    total = len(expected)
    assert total > 150

    first = await fetch(inventory_client, f"{ACTIVE_OR_INACTIVE}&limit=50")
    assert first.status_code == 206
    assert first.headers["X-Total-Count"] == str(total)  # the filter's matches, not the collection
    assert first.headers["X-Result-Count"] == "50"
    assert [i["id"] for i in first.json()] == expected[:50]
    rels = links(first)
    assert set(rels) == {"first", "next", "last"}
    last_offset = (total - 1) // 50 * 50
    for rel, offset in (("first", 0), ("next", 50), ("last", last_offset)):
        params = dict(parse_qsl(urlsplit(rels[rel]).query))
        assert params["offset"] == str(offset) and params["limit"] == "50", rel
        assert params["state"] == "active,inactive", rel  # the filter is kept

    middle = await fetch(inventory_client, f"{ACTIVE_OR_INACTIVE}&offset=100&limit=50")
    assert middle.status_code == 206
    assert [i["id"] for i in middle.json()] == expected[100:150]
    assert set(links(middle)) == {"first", "prev", "next", "last"}
    assert dict(parse_qsl(urlsplit(links(middle)["prev"]).query))["offset"] == "50"

    last = await inventory_client.get(relative(rels["last"]))
    assert last.status_code == 206
    assert last.headers["X-Result-Count"] == str(total - last_offset)
    assert [i["id"] for i in last.json()] == expected[last_offset:]
    assert set(links(last)) == {"first", "prev", "last"}


async def test_following_next_links_visits_every_match_once(
    inventory: Inventory, inventory_client: httpx.AsyncClient
) -> None:
    expected = sorted(d["id"] for d in inventory.docs if d["state"] in ("active", "inactive"))
    seen: list[str] = []
    url: str | None = f"{API}/service?{ACTIVE_OR_INACTIVE}&limit=70&fields=none"
    while url is not None:
        response = await inventory_client.get(url)
        seen.extend(i["id"] for i in response.json())
        next_url = links(response).get("next")
        url = relative(next_url) if next_url else None
    assert seen == expected


async def test_200_when_the_body_holds_every_match(inventory: Inventory, inventory_client: httpx.AsyncClient) -> None:
    expected = [d["id"] for d in inventory.docs if d["serviceSpecification"]["id"] == "spec-1"]
    whole = await fetch(inventory_client, f"serviceSpecification.id=spec-1&limit={len(expected) + 5}")
    assert whole.status_code == 200
    assert whole.headers["X-Total-Count"] == whole.headers["X-Result-Count"] == str(len(expected))
    unbounded = await fetch(inventory_client, "serviceSpecification.id=spec-1")
    assert unbounded.status_code == 200 and len(unbounded.json()) == len(expected)
    for query in ("name=nobody", "name=nobody&offset=10&limit=5"):
        empty = await fetch(inventory_client, query)
        assert empty.status_code == 200 and empty.json() == [] and empty.headers["X-Total-Count"] == "0"


async def test_defaults_offset_zero_and_the_server_page_bound(inventory_client: httpx.AsyncClient) -> None:
    response = await fetch(inventory_client, "fields=none")
    assert response.status_code == 206  # 1,200 services, a page holds at most 1,000 (TMF640_MAX_PAGE_SIZE)
    assert response.headers["X-Total-Count"] == str(SIZE)
    assert response.headers["X-Result-Count"] == "1000"
    assert response.json()[0]["id"] == "svc-00000"
    clipped = await fetch(inventory_client, "fields=none&limit=5000")
    assert clipped.headers["X-Result-Count"] == "1000"


async def test_offset_beyond_the_matches_and_limit_zero(inventory_client: httpx.AsyncClient) -> None:
    beyond = await fetch(inventory_client, f"{ACTIVE_OR_INACTIVE}&offset=5000&limit=10")
    assert beyond.status_code == 206 and beyond.json() == []
    assert beyond.headers["X-Result-Count"] == "0" and int(beyond.headers["X-Total-Count"]) > 0
    assert "prev" in links(beyond) and "next" not in links(beyond)
    count_only = await fetch(inventory_client, f"{ACTIVE_OR_INACTIVE}&limit=0")
    assert count_only.status_code == 206 and count_only.json() == []
    assert int(count_only.headers["X-Total-Count"]) > 0


async def test_fields_on_list(inventory: Inventory, inventory_client: httpx.AsyncClient) -> None:
    response = await fetch(inventory_client, "state=active&fields=name,category&limit=1000")
    items = response.json()
    assert len(items) == sum(1 for d in inventory.docs if d["state"] == "active")
    for item in items:
        doc = inventory.by_id[item["id"]]
        assert set(item) == {"id"} | ({"name", "category"} & set(doc)), item  # no href unless listed
        assert all(item[k] == doc[k] for k in item)

    with_href = (await fetch(inventory_client, "state=active&fields=href,name&limit=3")).json()
    for item in with_href:
        assert set(item) <= {"id", "href", "name"} and "href" in item
        assert item["href"] == f"http://testserver{API}/service/{item['id']}"

    none = (await fetch(inventory_client, "state=active&fields=none&limit=3")).json()
    assert [set(item) for item in none] == [{"id", "href"}] * 3


async def test_fields_on_single_retrieve(inventory: Inventory, inventory_client: httpx.AsyncClient) -> None:
    doc = next(d for d in inventory.docs if "name" in d and "category" in d)
    url = f"{API}/service/{doc['id']}"
    listed = await inventory_client.get(f"{url}?fields=name,category")
    assert listed.status_code == 200
    assert listed.json() == {"id": doc["id"], "name": doc["name"], "category": doc["category"]}
    none = await inventory_client.get(f"{url}?fields=none")
    assert none.json() == {"id": doc["id"], "href": f"http://testserver{url}"}
    whole = (await inventory_client.get(url)).json()
    assert {k: v for k, v in whole.items() if k not in ("id", "href", "supportingService")} == {
        k: v for k, v in doc.items() if k not in ("id", "supportingService")
    }


async def test_bundles_render_members_by_value_and_keep_foreign_references(
    inventory: Inventory, inventory_client: httpx.AsyncClient
) -> None:
    response = await fetch(inventory_client, "isBundle=true&limit=3")
    for bundle in response.json():
        first, second, foreign = bundle["supportingService"]
        assert first == {**inventory.by_id[first["id"]], "href": f"http://testserver{API}/service/{first['id']}"}
        assert second["id"] == inventory.by_id[bundle["id"]]["supportingService"][1]["id"]
        assert foreign == inventory.by_id[bundle["id"]]["supportingService"][2]
