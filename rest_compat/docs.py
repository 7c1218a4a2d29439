"""The official TMF640 document, served with this server's host and base path."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from resolvers.rules.validation import swagger
from rest_compat.http import context
from rest_compat.responses import JSONResponse


def document(base_url: str, prefix: str) -> dict[str, Any]:
    """The official document with `host`, `schemes` and `basePath` of this server under `prefix`."""
    doc = copy.deepcopy(swagger())
    base = urlsplit(base_url)
    doc["host"] = base.netloc
    doc["schemes"] = [base.scheme or "http"]
    doc["basePath"] = base.path.rstrip("/") + prefix
    return doc


def routes(prefix: str) -> list[BaseRoute]:
    """`{prefix}/swagger.json` and `{prefix}/api-docs`, each describing the API under the prefix it is read at."""

    async def openapi(request: Request) -> Response:
        return JSONResponse(document(context(request).base_url, prefix))

    return [Route(f"{prefix}/{name}", openapi, methods=["GET"]) for name in ("swagger.json", "api-docs")]
