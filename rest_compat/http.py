"""Request plumbing shared by the REST endpoints: body reading, context, paging headers.

The caller, correlation id, base URL and body limit come from the request edge (app.edge), built once per
request for both APIs: this module only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from resolvers.api import Resolvers, edge_of
from resolvers.context import RequestContext
from resolvers.rules import json_body
from resolvers.rules.errors import ValidationFailed
from rest_compat.errors import RestError
from rest_compat.responses import JSONResponse
from store.query_form import Page

JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class RestConfig:
    """What the REST layer is configured with (from app.settings, by the app factory): `app.state.rest`."""

    sync_wait_seconds: float = 10.0


def rest_config(request: Request) -> RestConfig:
    config = getattr(request.app.state, "rest", None)
    if not isinstance(config, RestConfig):
        raise RuntimeError("app.state.rest must hold the RestConfig (app.factory sets it)")
    return config


def context(request: Request) -> RequestContext:
    """The caller, correlation id and base URL of this request (built once by the request edge)."""
    return edge_of(request.scope.get("state", {})).context


def resolvers(request: Request) -> Resolvers:
    return edge_of(request.scope.get("state", {})).resolvers


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json(request: Request) -> Any:
    """The JSON body (the edge bounds its size: BodyTooLarge is 413); malformed bodies are 400, never 500."""
    raw = await request.body()
    if not raw.strip():
        raise RestError(400, "InvalidBody", "the request needs a JSON body")
    try:
        return json_body.loads(raw)
    except ValidationFailed as exc:
        raise RestError(400, "InvalidJson", exc.message) from exc


def require_json(request: Request) -> None:
    kind = media_type(request)
    if kind and kind not in JSON_TYPES and not kind.endswith("+json"):
        raise RestError(415, "UnsupportedMediaType", f"{kind} is not accepted here; send application/json")


def page_response(request: Request, page: Page) -> JSONResponse:
    """200 when the body holds every match, 206 when paging cut it; counts and Link in headers."""
    count = len(page.items)
    partial = count < page.total
    headers = {"X-Total-Count": str(page.total), "X-Result-Count": str(count)}
    links = _links(request, page)
    if links:
        headers["Link"] = links
    return JSONResponse(page.items, status_code=206 if partial else 200, headers=headers)


def _links(request: Request, page: Page) -> str:
    if page.limit <= 0:
        return ""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "limit")]
    base = context(request).base_url + request.url.path

    def url(offset: int) -> str:
        return base + "?" + urlencode([*params, ("offset", str(offset)), ("limit", str(page.limit))])

    last = max(0, ((page.total - 1) // page.limit) * page.limit) if page.total else 0
    parts = [f'<{url(0)}>; rel="first"']
    if page.offset > 0:
        parts.append(f'<{url(max(0, page.offset - page.limit))}>; rel="prev"')
    if page.offset + page.limit < page.total:
        parts.append(f'<{url(page.offset + page.limit)}>; rel="next"')
    parts.append(f'<{url(last)}>; rel="last"')
    return ", ".join(parts)
