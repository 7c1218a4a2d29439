"""Any value is stored: a 64 KB characteristic that does not compress (a certificate, a configuration blob) is
stored, read back exactly and found by an equality filter, on SQLite and PostgreSQL alike. The attribute index
holds long values by their prefix (store.values.PREFIX) and compares the whole text."""

from __future__ import annotations

import base64
import os
from typing import Any

import httpx

from store.values import PREFIX
from tests.graphql import ok

API = "/tmf-api/serviceActivationAndConfiguration/v4"


def blob(size: int, head: str = "") -> str:
    """`size` characters of URL-safe base64 over random bytes (incompressible, no regex metacharacter)."""
    body = base64.urlsafe_b64encode(os.urandom(size)).decode()
    return (head + body)[:size]


async def _create(client: httpx.AsyncClient, name: str, value: str) -> dict[str, Any]:
    created = await client.post(f"{API}/service", json={
        "name": name, "state": "designed", "serviceSpecification": {"name": "vCPE"},
        "serviceCharacteristic": [{"name": "certificate", "value": value}],
    })
    assert created.status_code == 201, created.text[:500]
    body: dict[str, Any] = created.json()
    return body


QUERY = """
query Find($path: String!, $op: FilterOp!, $values: [String!]!) {
  services(filter: {where: [{path: $path, op: $op, values: $values}]}) { nodes { name } }
}
"""


async def _names(client: httpx.AsyncClient, value: str, op: str = "EQ") -> list[str]:
    """Names of the services whose characteristic value matches, through GraphQL (a 64 KB value does not fit
    in a URL; both APIs filter through the same resolver and SQL)."""
    data = await ok(client, QUERY, {"path": "serviceCharacteristic.value", "op": op, "values": [value]})
    return sorted(node["name"] for node in data["services"]["nodes"])


async def test_a_64_kb_incompressible_value_is_stored_read_back_and_found(client: httpx.AsyncClient) -> None:
    value = blob(65_536)
    twin = value[:PREFIX] + blob(65_536 - PREFIX)  # the same indexed prefix, another value
    created = await _create(client, "cert", value)
    await _create(client, "twin", twin)
    await _create(client, "short", value[:PREFIX])  # exactly the prefix: a different, short value

    read = await client.get(f"{API}/service/{created['id']}")
    assert read.status_code == 200
    assert read.json()["serviceCharacteristic"] == [{"name": "certificate", "value": value}]

    assert await _names(client, value) == ["cert"]
    assert await _names(client, twin) == ["twin"]
    assert await _names(client, value[:PREFIX]) == ["short"]
    # A prefix filter (a regex anchored at the start) sees past the indexed prefix too.
    assert await _names(client, f"^{value[:PREFIX + 50]}", "REGEX") == ["cert"]
    assert await _names(client, f"^{value[:PREFIX]}", "REGEX") == ["cert", "short", "twin"]
