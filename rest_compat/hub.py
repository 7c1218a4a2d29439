"""TMF hub paths (`POST /hub`, `DELETE /hub/{id}`) and ours for operators: status, deliveries, resume."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from resolvers.api import Resolvers
from resolvers.hubs import registration, status
from resolvers.rules.errors import InvalidQuery
from rest_compat import params
from rest_compat.errors import RestError
from rest_compat.http import context, page_response, read_json, require_json, resolvers
from rest_compat.responses import JSONResponse
from store.query_form import Page


def _hubs(request: Request) -> Resolvers:
    return resolvers(request)


def _id(request: Request) -> str:
    return str(request.path_params["id"]).rstrip("/")


def _paging(request: Request) -> tuple[int, int | None]:
    q = params.parse(request.url.query)
    if q.conditions or q.sort or q.fields is not None:
        raise InvalidQuery("query", "this list takes only offset and limit")
    return q.offset, q.limit


async def register(request: Request) -> Response:
    require_json(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise RestError(400, "InvalidBody", "the body must be a JSON object with callback and optional query")
    ctx = context(request)
    row = await _hubs(request).hubs.register(ctx, body.get("callback"), body.get("query"), body.get("secret"))
    return JSONResponse(registration(row), status_code=201, headers={"Location": ctx.hub_href(row.id)})


async def unregister(request: Request) -> Response:
    await _hubs(request).hubs.unregister(context(request), _id(request))
    return Response(status_code=204)


async def get_hub(request: Request) -> Response:
    ctx = context(request)
    return JSONResponse(status(ctx, await _hubs(request).hubs.get(ctx, _id(request))))


async def list_hubs(request: Request) -> Response:
    ctx = context(request)
    offset, limit = _paging(request)
    rows, total = await _hubs(request).hubs.search(ctx, offset, limit)
    page = Page(items=[status(ctx, r) for r in rows], total=total, offset=offset,
                limit=limit if limit is not None else _hubs(request).hubs.max_page)
    return page_response(request, page)


async def resume(request: Request) -> Response:
    ctx = context(request)
    return JSONResponse(status(ctx, await _hubs(request).hubs.resume(ctx, _id(request))))


async def deliveries(request: Request) -> Response:
    offset, limit = _paging(request)
    page = await _hubs(request).hubs.deliveries(context(request), _id(request), offset, limit)
    return page_response(request, page)


def routes(prefix: str) -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for slash in ("", "/"):
        out.append(Route(f"{prefix}/hub{slash}", register, methods=["POST"]))
        out.append(Route(f"{prefix}/hub{slash}", list_hubs, methods=["GET"]))
        out.append(Route(f"{prefix}/hub/{{id}}/resume{slash}", resume, methods=["POST"]))
        out.append(Route(f"{prefix}/hub/{{id}}/deliveries{slash}", deliveries, methods=["GET"]))
    out.append(Route(f"{prefix}/hub/{{id:path}}", get_hub, methods=["GET"]))
    out.append(Route(f"{prefix}/hub/{{id:path}}", unregister, methods=["DELETE"]))
    return out
