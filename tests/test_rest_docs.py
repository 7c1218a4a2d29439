"""The official TMF640 document is served under both path spellings, adjusted to this server's base URL."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.factory import create_app
from app.settings import Settings

OFFICIAL = (Path(__file__).resolve().parents[1] / "resolvers" / "rules" / "data"
            / "TMF640-ServiceActivation-v4.0.0.swagger.json")
PREFIXES = ("/tmf-api/ServiceActivationAndConfiguration/v4", "/tmf-api/serviceActivationAndConfiguration/v4")


def official() -> dict:
    doc: dict = json.loads(OFFICIAL.read_text(encoding="utf-8"))
    return doc


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("name", ["swagger.json", "api-docs"])
async def test_swagger_is_served_with_this_servers_host_and_base_path(
    prefix: str, name: str, client: httpx.AsyncClient
) -> None:
    response = await client.get(f"{prefix}/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert doc["swagger"] == "2.0"
    assert doc["host"] == "testserver" and doc["schemes"] == ["http"] and doc["basePath"] == prefix
    expected = official()
    assert expected["host"] != doc["host"]  # the published one names "serverRoot"
    for key in ("host", "schemes", "basePath"):
        doc.pop(key)
        expected.pop(key, None)
    assert doc == expected  # everything else exactly as published


async def test_swagger_follows_the_public_base_url(database_url: str) -> None:
    settings = Settings(database_url=database_url, migrate_on_start=False, public_base_url="https://api.example.com/tmf")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://internal:8640") as client:
            doc = (await client.get(f"{PREFIXES[1]}/swagger.json")).json()
    assert doc["host"] == "api.example.com"
    assert doc["schemes"] == ["https"]
    assert doc["basePath"] == "/tmf" + PREFIXES[1]
