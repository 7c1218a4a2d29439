"""The official TMF640 document, served with this server's host and base path."""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from resolvers.validation import swagger
from rest_compat.http import context


async def openapi(request: Request) -> Response:
    doc = copy.deepcopy(swagger())
    base = urlsplit(context(request).base_url)
    doc["host"] = base.netloc
    doc["schemes"] = [base.scheme or "http"]
    doc["basePath"] = base.path.rstrip("/") + "/tmf-api/serviceActivationAndConfiguration/v4"
    return JSONResponse(doc)


def routes(prefix: str) -> list[BaseRoute]:
    return [Route(f"{prefix}/{name}", openapi, methods=["GET"]) for name in ("swagger.json", "api-docs")]
