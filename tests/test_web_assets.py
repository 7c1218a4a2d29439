"""GraphiQL, Swagger UI and the console are served by this server with every asset they need, and nothing in
them points outside the server: each page's scripts, styles and links are server paths, each stylesheet's
url()s are server paths or data: URIs, the pages' own scripts name no other host, and the vendored bundles hold
no absolute URL in a place that loads something (the real-browser test checks what a browser actually loads).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

API = "/tmf-api/ServiceActivationAndConfiguration/v4"

PAGES = ["/graphql", "/swagger", "/console"]
HOST = "testserver"
LOADS_FROM = re.compile(
    r"""(?:importScripts|import|fetch|new\s+(?:WebSocket|EventSource|Worker))\(\s*["'`](?:https?:|wss?:)?//"""
)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)""")
CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?["']?([^"');\s]+)""")
ABSOLUTE = re.compile(r"""["'`]((?:https?|wss?):)?//[A-Za-z0-9.-]+""")


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "data", "poster") and value:
                self.urls.append(value)
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data)


def on_server(url: str, base: str) -> bool:
    if url.startswith(("data:", "#")):
        return True
    parts = urlsplit(urljoin(base, url))
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname == HOST


@pytest.mark.parametrize("page", PAGES)
async def test_pages_and_their_assets_come_from_the_server_alone(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page, headers={"accept": "text/html"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), response.text
    base = f"http://{HOST}{page}"
    links = Links()
    links.feed(response.text)
    assert links.urls, "a page with no assets?"
    outside = [u for u in links.urls if not on_server(u, base)]
    assert outside == [], f"{page} points outside the server: {outside}"
    for script in links.inline:
        assert not ABSOLUTE.search(script), f"{page}: inline script names another host"
    fetched = 0
    for url in links.urls:
        if url.startswith(("data:", "#")) or not url.startswith("/web/"):
            continue
        asset = await client.get(url)
        assert asset.status_code == 200, f"{page}: {url} -> {asset.status_code}"
        assert asset.content, url
        fetched += 1
        text = asset.text
        if url.endswith(".css"):
            for found in CSS_URL.findall(text) + CSS_IMPORT.findall(text):
                assert on_server(found, urljoin(base, url)), f"{url} loads {found[:80]}"
        elif url.endswith(".js"):
            assert not LOADS_FROM.search(text), f"{url} loads from another host: {LOADS_FROM.search(text)}"
            if "/vendor/" not in url:  # our own scripts name no other host at all
                assert not ABSOLUTE.search(text), f"{url} names another host: {ABSOLUTE.search(text)}"
    assert fetched >= 2


async def test_swagger_ui_reads_the_served_document_and_never_calls_the_public_validator(
    client: httpx.AsyncClient,
) -> None:
    script = (await client.get("/web/swagger.js")).text
    document_url = re.search(r'url:\s*"([^"]+)"', script)
    assert document_url is not None
    served = await client.get(document_url.group(1))
    assert served.status_code == 200 and served.json()["swagger"] == "2.0"
    assert "validatorUrl: null" in script  # Swagger UI's default validator badge is a public URL


async def test_graphiql_is_the_servers_own_page_with_subscriptions(client: httpx.AsyncClient) -> None:
    page = (await client.get("/graphql", headers={"accept": "text/html"})).text
    assert "/web/vendor/graphiql.min.js" in page and "/web/vendor/graphql-ws.min.js" in page
    assert "wsClient" in (await client.get("/web/graphiql.js")).text


async def test_production_serves_the_console_and_swagger_ui_but_not_graphiql(database_url: str) -> None:
    from app.factory import create_app
    from app.settings import Settings

    # Production needs an authentication setting; the pages and their assets hold no data and load without
    # credentials (their API calls carry the user's key), while the API itself still refuses anonymous calls.
    keys = {"k-read": {"tenant": "t", "scopes": ["read"]}}
    application = create_app(Settings(database_url=database_url, migrate_on_start=False, environment="production",
                                      api_keys=keys))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as c:
            assert (await c.get("/console")).status_code == 200
            assert (await c.get("/swagger")).status_code == 200
            assert (await c.get("/web/console.js")).status_code == 200
            assert (await c.get(f"{API}/swagger.json")).status_code == 200
            assert (await c.get(f"{API}/service")).status_code == 401
            assert (await c.get("/graphql", headers={"accept": "text/html"})).status_code != 200
