"""The official sample and a subclass service round-trip through the REST paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

SHARED = Path(__file__).resolve().parent / "data"  # copies of ../shared/tmf samples
API = "/tmf-api/serviceActivationAndConfiguration/v4"


def sample() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SHARED / "TMF640-Service.example.json").read_text())
    doc.pop("id")
    doc.pop("href")
    return doc


def assert_contains(sent: Any, got: Any, path: str = "") -> None:
    """Every attribute sent is read back equal (the server adds id/href to members it created)."""
    if isinstance(sent, dict):
        assert isinstance(got, dict), path
        for key, value in sent.items():
            assert key in got, f"{path}.{key} missing"
            assert_contains(value, got[key], f"{path}.{key}")
    elif isinstance(sent, list):
        assert isinstance(got, list) and len(got) == len(sent), path
        for i, (a, b) in enumerate(zip(sent, got, strict=True)):
            assert_contains(a, b, f"{path}[{i}]")
    else:
        assert sent == got and type(sent) is type(got), f"{path}: {sent!r} != {got!r}"


async def test_official_sample_round_trips(client: httpx.AsyncClient) -> None:
    sent = sample()
    created = await client.post(f"{API}/service", json=sent)
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == body["href"]
    got = (await client.get(f"{API}/service/{body['id']}")).json()
    assert_contains(sent, got)
    assert set(got) == set(sent) | {"id", "href"}
    member = got["supportingService"][0]
    assert set(member) == set(sent["supportingService"][0]) | {"id", "href"}
    assert got["supportingService"][1] == sent["supportingService"][1]  # a reference held elsewhere stays one
    member_alone = (await client.get(f"{API}/service/{member['id']}")).json()
    assert member_alone == member


async def test_subclass_with_unknown_attributes_round_trips(client: httpx.AsyncClient) -> None:
    sent = {
        "@type": "vCPE",
        "@baseType": "Service",
        "@schemaLocation": "https://example.invalid/vCPE.schema.json",
        "state": "designed",
        "serviceSpecification": {"name": "vCPE"},
        "vcpeModel": {"vendor": "acme", "throughput": [1, 2.5, None, True]},
        "serviceOrder": [{"id": "so-1"}],
        "serviceCharacteristic": [
            {"name": "n", "value": {"deep": [{"x": 1}]}},
            {"name": "m", "value": 3.25},
            {"name": "s", "value": ["a", 1]},
        ],
        "relatedParty": [{"id": "42", "role": "owner"}],
    }
    created = await client.post(f"{API}/service", json=sent)
    assert created.status_code == 201, created.text
    got = (await client.get(f"{API}/service/{created.json()['id']}")).json()
    assert {k: v for k, v in got.items() if k not in ("id", "href")} == sent


async def test_both_spellings_and_trailing_slash(client: httpx.AsyncClient) -> None:
    for prefix in ("/tmf-api/ServiceActivationAndConfiguration/v4", API):
        for path in ("/service", "/service/"):
            response = await client.get(prefix + path)
            assert response.status_code == 200
            assert response.json() == []
