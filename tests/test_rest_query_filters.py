"""REST_CONTRACT.md's filters on a store of 1,200 services: every form gives exactly the matches Python finds.

Expected results are computed from the generated documents (tests/inventory.py), never from the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.inventory import ANCHOR, ODD_SERVICE_DATE, SIZE, Inventory, instant

API = "/tmf-api/serviceActivationAndConfiguration/v4"
Doc = dict[str, Any]


def parties(d: Doc) -> list[Doc]:
    return list(d.get("relatedParty", []))


def chars(d: Doc) -> list[Doc]:
    return list(d.get("serviceCharacteristic", []))


def starts(d: Doc) -> datetime | None:
    return instant(d.get("startDate"))


def served(d: Doc) -> datetime | None:
    text = d.get("serviceDate")
    return None if text in (None, ODD_SERVICE_DATE) else instant(text)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def start_cmp(op: Callable[[datetime, datetime], bool], text: str) -> Callable[[Doc], bool]:
    limit = when(text)
    return lambda d: (s := starts(d)) is not None and op(s, limit)


def name_re(pattern: str) -> Callable[[Doc], bool]:
    return lambda d: d.get("name") is not None and re.search(pattern, d["name"]) is not None


JUNE = "2024-06-01T00:00:00+02:00"
# (query string as sent on the wire, predicate over a generated document)
CASES: dict[str, tuple[str, Callable[[Doc], bool]]] = {
    # equality on first-level attributes (projected columns and the attribute index alike)
    "state": ("state=active", lambda d: d["state"] == "active"),
    "name": ("name=alpha-3", lambda d: d.get("name") == "alpha-3"),
    "name-non-ascii": ("name=%C3%A9ta-7", lambda d: d.get("name") == "éta-7"),
    "category": ("category=CFS", lambda d: d.get("category") == "CFS"),
    "serviceType": ("serviceType=cloud", lambda d: d["serviceType"] == "cloud"),
    "hasStarted": ("hasStarted=true", lambda d: d["hasStarted"] is True),
    "id": ("id=svc-00007,svc-00012", lambda d: d["id"] in ("svc-00007", "svc-00012")),
    "isBundle-true": ("isBundle=true", lambda d: d.get("isBundle") is True),
    "isBundle-false": ("isBundle=false", lambda d: d.get("isBundle") is False),
    # dotted paths into sub-resources
    "relatedParty.id": ("relatedParty.id=7", lambda d: any(p["id"] == "7" for p in parties(d))),
    "relatedParty.role": ("relatedParty.role=reseller", lambda d: any(p["role"] == "reseller" for p in parties(d))),
    "spec.name": ("serviceSpecification.name=vCPE", lambda d: d["serviceSpecification"]["name"] == "vCPE"),
    "spec.id": ("serviceSpecification.id=spec-3", lambda d: d["serviceSpecification"]["id"] == "spec-3"),
    "char.name": ("serviceCharacteristic.name=vlan", lambda d: any(c["name"] == "vlan" for c in chars(d))),
    "char.value-number": ("serviceCharacteristic.value=1000", lambda d: any(c["value"] == 1000 for c in chars(d))),
    "char.value-text": (
        "serviceCharacteristic.value=%2B447012",
        lambda d: any(c["value"] == "+447012" for c in chars(d)),
    ),
    "char.value.nested": (
        "serviceCharacteristic.value.id=3",
        lambda d: any(isinstance(c["value"], dict) and c["value"]["id"] == 3 for c in chars(d)),
    ),
    "char.name-and-value": (
        "serviceCharacteristic.name=speed&serviceCharacteristic.value=200",
        lambda d: any(c["name"] == "speed" for c in chars(d)) and any(c["value"] == 200 for c in chars(d)),
    ),
    # subclasses and their extension attributes
    "@type": ("@type=vCPE", lambda d: d.get("@type") == "vCPE"),
    "@type-encoded": ("%40type=Firewall", lambda d: d.get("@type") == "Firewall"),
    "@type-extension": (
        "@type=vCPE&vcpeModel.vendor=acme",
        lambda d: d.get("@type") == "vCPE" and d["vcpeModel"]["vendor"] == "acme",
    ),
    "@type-extension-number": (
        "@type=vCPE&vcpeModel.ports.gte=6",
        lambda d: d.get("@type") == "vCPE" and d["vcpeModel"]["ports"] >= 6,
    ),
    # dates compared as instants, whatever offset the stored value and the filter were written in
    "date.gt-encoded-plus": ("startDate.gt=2024-06-01T00:00:00%2B02:00", start_cmp(lambda a, b: a > b, JUNE)),
    "date.gt-raw-plus": ("startDate.gt=2024-06-01T00:00:00+02:00", start_cmp(lambda a, b: a > b, JUNE)),
    "date.gte-anchor": (
        "startDate.gte=2024-06-15T17:30:00%2B05:30",
        start_cmp(lambda a, b: a >= b, "2024-06-15T12:00:00Z"),
    ),
    "date.lt": ("startDate.lt=2024-03-01T07:00:00-05:00", start_cmp(lambda a, b: a < b, "2024-03-01T12:00:00Z")),
    "date.lte-anchor": ("startDate.lte=2024-06-15T12:00:00Z", start_cmp(lambda a, b: a <= b, "2024-06-15T12:00:00Z")),
    "date.eq-other-offset": ("startDate.eq=2024-06-15T14:00:00+02:00", lambda d: starts(d) == ANCHOR),
    "date-equality-other-offset": ("startDate=2024-06-15T07:00:00-05:00", lambda d: starts(d) == ANCHOR),
    "date-range-date-only": (
        "startDate.gte=2024-03-01&startDate.lt=2024-04-01",
        lambda d: (s := starts(d)) is not None and when("2024-03-01T00:00:00Z") <= s < when("2024-04-01T00:00:00Z"),
    ),
    # a date attribute without a projection column (served by the attribute index), and free text in it
    "serviceDate.lt": (
        "serviceDate.lt=2024-02-01T01:00:00%2B01:00",
        lambda d: (s := served(d)) is not None and s < when("2024-02-01T00:00:00Z"),
    ),
    "serviceDate-text": (f"serviceDate={ODD_SERVICE_DATE}", lambda d: d.get("serviceDate") == ODD_SERVICE_DATE),
    # regular expressions, both spellings
    "regex-star": ("name*=^alpha", name_re("^alpha")),
    "regex-tilde": ("name=~^(beta|gamma)-1", name_re("^(beta|gamma)-1")),
    "regex-non-ascii": ("name*=^%C3%A9ta-1", name_re("^éta-1")),
    "regex-dotted": ("relatedParty.role*=^own", lambda d: any(p["role"].startswith("own") for p in parties(d))),
    "regex-spec": ("serviceSpecification.name=~wall$", lambda d: d["serviceSpecification"]["name"].endswith("wall")),
    # OR within one attribute, three spellings; AND across attributes
    "or-comma": ("state=active,inactive", lambda d: d["state"] in ("active", "inactive")),
    "or-semicolon": ("state=active;inactive", lambda d: d["state"] in ("active", "inactive")),
    "or-repeated": ("state=active&state=inactive", lambda d: d["state"] in ("active", "inactive")),
    "or-dotted": ("relatedParty.id=1,2,3", lambda d: any(p["id"] in ("1", "2", "3") for p in parties(d))),
    "and": (
        "state=active,inactive&serviceSpecification.name=vCPE&hasStarted=true&relatedParty.role=owner",
        lambda d: d["state"] in ("active", "inactive")
        and d["serviceSpecification"]["name"] == "vCPE"
        and d["hasStarted"] is True
        and any(p["role"] == "owner" for p in parties(d)),
    ),
    "no-match": ("name=nobody-has-this-name", lambda d: False),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_filter(case: str, inventory: Inventory, inventory_client: httpx.AsyncClient) -> None:
    query, predicate = CASES[case]
    expected = sorted(d["id"] for d in inventory.docs if predicate(d))
    assert len(expected) < 1000, "the case must fit one page to be compared in one request"
    response = await inventory_client.get(f"{API}/service?{query}&limit=1000")
    assert response.status_code == 200, response.text
    got = [item["id"] for item in response.json()]
    assert got == expected  # without sort, the order is by id
    assert response.headers["X-Total-Count"] == str(len(expected))
    assert response.headers["X-Result-Count"] == str(len(expected))


def test_cases_are_meaningful(inventory: Inventory) -> None:
    """Each filter selects a proper, non-empty part of the store (else a broken filter could pass)."""
    for case, (_query, predicate) in CASES.items():
        count = sum(1 for d in inventory.docs if predicate(d))
        assert case == "no-match" or 0 < count < SIZE, case


async def test_or_spellings_agree(inventory_client: httpx.AsyncClient) -> None:
    bodies = []
    for query in ("state=active,inactive", "state=active;inactive", "state=active&state=inactive"):
        response = await inventory_client.get(f"{API}/service?{query}&limit=1000&fields=none")
        bodies.append(response.json())
    assert bodies[0] == bodies[1] == bodies[2] and bodies[0]


async def test_unencoded_plus_arrives_as_space_and_still_means_an_offset(inventory_client: httpx.AsyncClient) -> None:
    raw = await inventory_client.get(f"{API}/service?startDate.lt=2024-03-01T14:00:00+02:00&limit=1000")
    spaced = await inventory_client.get(f"{API}/service?startDate.lt=2024-03-01T14:00:00%2002:00&limit=1000")
    encoded = await inventory_client.get(f"{API}/service?startDate.lt=2024-03-01T14:00:00%2B02:00&limit=1000")
    assert raw.request.url.query.endswith(b"+02:00&limit=1000")  # sent as the client wrote it
    assert raw.json() == spaced.json() == encoded.json() and raw.json()
