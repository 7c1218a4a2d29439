"""The TMF hub paths: registration, validation, unregistration, and our operator paths."""

from __future__ import annotations

import httpx
import pytest

from tests.events.support import API

SPELLINGS = ("/tmf-api/ServiceActivationAndConfiguration/v4", API)
CALLBACK = "http://127.0.0.1:9/listener"


def assert_tmf_error(response: httpx.Response, status: int, mentions: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["@type"] == "Error" and body["status"] == str(status)
    assert isinstance(body["code"], str) and isinstance(body["reason"], str)
    assert mentions in body["message"], body["message"]


@pytest.mark.parametrize("prefix", SPELLINGS)
@pytest.mark.parametrize("slash", ["", "/"])
async def test_register_and_unregister_on_both_spellings(client: httpx.AsyncClient, prefix: str, slash: str) -> None:
    query = "eventType=ServiceStateChangeEvent&event.service.state=active"
    created = await client.post(f"{prefix}/hub{slash}", json={"callback": CALLBACK, "query": query})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body == {"id": body["id"], "callback": CALLBACK, "query": query}
    assert created.headers["location"].endswith(f"{API}/hub/{body['id']}")

    assert (await client.delete(f"{prefix}/hub/{body['id']}")).status_code == 204
    assert_tmf_error(await client.delete(f"{prefix}/hub/{body['id']}"), 404, body["id"])


async def test_query_is_optional_and_the_secret_is_never_shown(client: httpx.AsyncClient) -> None:
    created = await client.post(f"{API}/hub", json={"callback": CALLBACK, "secret": "s3cret"})
    assert created.status_code == 201, created.text
    assert created.json() == {"id": created.json()["id"], "callback": CALLBACK}
    status = await client.get(f"{API}/hub/{created.json()['id']}")
    assert status.status_code == 200
    assert status.json()["state"] == "active" and status.json()["signed"] is True
    assert "s3cret" not in status.text
    listed = await client.get(f"{API}/hub")
    assert [h["id"] for h in listed.json()] == [created.json()["id"]]
    assert "s3cret" not in listed.text


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({}, "callback"),
        ({"callback": "not a url"}, "callback"),
        ({"callback": "/relative/listener"}, "callback"),
        ({"callback": "ftp://host/listener"}, "callback"),
        ({"callback": 42}, "callback"),
        ({"callback": CALLBACK, "query": 5}, "query"),
        ({"callback": CALLBACK, "query": "state=active"}, "state"),
        ({"callback": CALLBACK, "query": "eventType=X&sort=eventTime"}, "sort"),
        ({"callback": CALLBACK, "query": "event.service.name=~(unclosed"}, "regular expression"),
        ({"callback": CALLBACK, "secret": ""}, "secret"),
    ],
)
async def test_bad_registrations_are_400_naming_the_problem(
    client: httpx.AsyncClient, body: dict[str, object], mentions: str
) -> None:
    assert_tmf_error(await client.post(f"{API}/hub", json=body), 400, mentions)
    assert (await client.get(f"{API}/hub")).json() == []


async def test_body_must_be_a_json_object(client: httpx.AsyncClient) -> None:
    assert_tmf_error(await client.post(f"{API}/hub", json=[CALLBACK]), 400, "JSON object")
    assert_tmf_error(await client.post(f"{API}/hub", content=b"{", headers={"content-type": "application/json"}),
                     400, "JSON")


async def test_unknown_hub_is_404_on_every_path(client: httpx.AsyncClient) -> None:
    assert_tmf_error(await client.delete(f"{API}/hub/no-such-hub"), 404, "no-such-hub")
    assert_tmf_error(await client.get(f"{API}/hub/no-such-hub"), 404, "no-such-hub")
    assert_tmf_error(await client.post(f"{API}/hub/no-such-hub/resume"), 404, "no-such-hub")
    assert_tmf_error(await client.get(f"{API}/hub/no-such-hub/deliveries"), 404, "no-such-hub")
