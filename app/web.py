"""The browser pages: GraphiQL (development), Swagger UI for the served TMF640 document, and the console.

Every page and asset lives in the top-level `web/` folder (third-party assets vendored under `web/vendor/`, see
`web/README.md`) and is served from this server under `/web/`: no page loads anything from elsewhere. The
console's calls go through the normal `/graphql` endpoint, so whatever guards the API guards the console too.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

WEB = Path(__file__).resolve().parent.parent / "web"
GRAPHIQL_HTML = (WEB / "graphiql.html").read_text(encoding="utf-8")


def _page(path: str, name: str) -> Route:
    async def page(request: Request) -> Response:
        return FileResponse(WEB / name, media_type="text/html; charset=utf-8")

    return Route(path, page, methods=["GET"])


def routes() -> list[BaseRoute]:
    """`/console`, `/swagger` (Swagger UI) and the static files under `/web/`."""
    return [
        _page("/console", "console.html"),
        _page("/swagger", "swagger.html"),
        Mount("/web", StaticFiles(directory=WEB), name="web"),
    ]
