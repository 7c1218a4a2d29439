"""The JSON text of answers (resolvers/rules/json_text.py): every value read back as it was, and both APIs write
their answers with it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from resolvers.rules import json_text
from tests.events.support import API, simple

VALUES: list[Any] = [
    1e16, 1e-7, 1.5e300, 5e-324, 0.1, -0.0, 123456789.123, 2**63, 2**70, -(2**80), 0, True, None,
    "é ü 漢字 \u2028 \x7f \x00 </script> \"quoted\" \\", {"nested": [{"a": [1, [2, {"b": None}]]}]}, [], {},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_value_reads_back_as_it_was(value: Any) -> None:
    text = json_text.dumps(value)
    back = json.loads(text)
    assert back == value and type(back) is type(value)
    if isinstance(value, float):
        assert repr(back) == repr(value)  # the same float, to the last bit (-0.0 included)


def test_the_text_is_compact_utf8() -> None:
    assert json_text.dumps({"name": "café", "ids": [1, 2]}) == '{"name":"café","ids":[1,2]}'.encode()


async def test_rest_and_graphql_answers_are_written_by_it(client: httpx.AsyncClient) -> None:
    """A float of 1.5e-7 is `1.5e-7` in our text, `1.5e-07` in the json module's: the bytes tell which wrote them."""
    body = {**simple("café"), "serviceCharacteristic": [{"name": "big", "valueType": "number", "value": 1.5e-7}]}
    created = await client.post(f"{API}/service", json=body)
    assert created.status_code == 201, created.text
    service_id = created.json()["id"]
    got = await client.get(f"{API}/service/{service_id}")
    listed = await client.get(f"{API}/service", params={"name": "café"})
    query = "query($id: ID!) { service(id: $id) { name document } }"
    answered = await client.post("/graphql", json={"query": query, "variables": {"id": service_id}})
    for response in (created, got, listed, answered):
        assert response.status_code == 200 or response is created, response.text
        assert b'"value":1.5e-7' in response.content and "café".encode() in response.content
        assert response.content == json_text.dumps(response.json())
