"""The GraphQL examples of docs/graphql.md run, in order, against a fresh server (a ```json block after a
```graphql block holds its variables)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from tests.graphql import finished, ok

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "graphql.md"
BLOCK = re.compile(r"```(graphql|json)\n(.*?)```", re.S)


def examples() -> list[tuple[str, dict[str, Any]]]:
    section = GUIDE.read_text(encoding="utf-8")
    out: list[tuple[str, dict[str, Any]]] = []
    for kind, body in BLOCK.findall(section):
        if kind == "graphql":
            out.append((body, {}))
        else:
            out[-1] = (out[-1][0], json.loads(body))
    return out


async def test_readme_examples_run(app: Starlette, client: httpx.AsyncClient) -> None:
    runs = examples()
    assert len(runs) == 5
    (create, _), (work, _), (tree, _), (page, _), (patch, _) = runs

    created = (await ok(client, create, runs[0][1]))["createService"]
    assert created["__typename"] == "ServicePayload"
    assert [m["id"] for m in created["service"]["supportingServices"]] == ["vpn-1-access", "vpn-1-router"]
    assert created["monitor"]["state"] == "InProgress"  # returned at once; the drivers have not run yet
    assert [m["action"] for m in created["monitor"]["members"]] == ["design", "design", "design"]
    # The guide follows the work by querying the monitor; here the engine's notification wakes the test.
    await finished(app, created["monitor"]["id"])
    followed = (await ok(client, work, {"id": created["monitor"]["id"]}))["monitor"]
    assert (followed["state"], followed["outcome"]) == ("Completed", "completed")
    assert {(m["serviceId"], m["status"], m["state"]) for m in followed["members"]} == {
        ("vpn-1-access", "completed", "designed"), ("vpn-1-router", "completed", "designed"),
        ("vpn-1", "completed", "designed"),
    }

    members = (await ok(client, tree))["service"]["supportingServices"]
    assert members[1]["extensions"] == {"vendor": "acme"}
    assert members[1]["dependencies"] == [{"relationshipType": "reliesOn",
                                           "service": {"id": "vpn-1-access", "name": "Access"}}]
    descendants = (await ok(client, tree))["service"]["descendants"]
    assert [n["service"]["id"] for n in descendants] == ["vpn-1-access", "vpn-1-router"]
    listed = (await ok(client, page))["services"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["id"] == "vpn-1"

    patched = await ok(client, patch)
    assert patched["patchService"]["__typename"] == "ServicePayload", patched["patchService"]
    assert patched["patchService"]["service"]["etag"] == '"3"'
    activated = patched["activateService"]
    assert (activated["__typename"], activated["service"], activated["monitor"]["state"]) == (
        "ServicePayload", {"state": "designed"}, "InProgress")
    assert (await finished(app, activated["monitor"]["id"]))["state"] == "Completed"
    state = await ok(client, '{ service(id: "vpn-1-access") { state } }')
    assert state["service"]["state"] == "active"
