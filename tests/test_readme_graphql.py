"""The GraphQL examples in the README run, in order, against a fresh server (a ```json block after a
```graphql block holds its variables)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.graphql import ok

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```(graphql|json)\n(.*?)```", re.S)


def examples() -> list[tuple[str, dict[str, Any]]]:
    section = README.read_text(encoding="utf-8").split("## GraphQL", 1)[1]
    out: list[tuple[str, dict[str, Any]]] = []
    for kind, body in BLOCK.findall(section):
        if kind == "graphql":
            out.append((body, {}))
        else:
            out[-1] = (out[-1][0], json.loads(body))
    return out


async def test_readme_examples_run(client: httpx.AsyncClient) -> None:
    runs = examples()
    assert len(runs) == 4
    results = [await ok(client, query, variables) for query, variables in runs]
    created, tree, page, patched = results
    assert created["createService"]["__typename"] == "ServicePayload"
    assert [m["id"] for m in created["createService"]["service"]["supportingServices"]] == [
        "vpn-1-access", "vpn-1-router"
    ]
    members = tree["service"]["supportingServices"]
    assert members[1]["extensions"] == {"vendor": "acme"}
    assert members[1]["dependencies"] == [{"relationshipType": "reliesOn",
                                           "service": {"id": "vpn-1-access", "name": "Access"}}]
    assert [n["service"]["id"] for n in tree["service"]["descendants"]] == ["vpn-1-access", "vpn-1-router"]
    assert page["services"]["totalCount"] == 1
    assert page["services"]["edges"][0]["node"]["id"] == "vpn-1"
    assert patched["patchService"]["__typename"] == "ServicePayload"
    assert patched["activateService"] == {"__typename": "ServicePayload", "service": {"state": "active"}}
