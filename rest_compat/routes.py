"""The TMF640 REST resources, each a thin translation onto a resolver call."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from resolvers.rules.patching import Patch
from rest_compat import docs, hub, params
from rest_compat.errors import RestError
from rest_compat.http import context, page_response, read_json, require_json, resolvers
from rest_compat.prefer import policy_of, respond
from rest_compat.responses import JSONResponse

# The spelling of the TMF640 paths comes first: Starlette tries routes in order.
PREFIXES = ("/tmf-api/serviceActivationAndConfiguration/v4", "/tmf-api/ServiceActivationAndConfiguration/v4")
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json": "merge",
    "": "merge",
    "application/json-patch+json": "json",
}


class IdConvertor(Convertor[str]):
    """A resource id: one or more characters, slashes included (ids arrive percent-decoded). Not empty, so
    that `/service/` stays the collection and PATCH or DELETE on it is a 405, not a lookup of ''."""

    regex = ".+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("tmf_id", IdConvertor())


def _id(request: Request) -> str:
    return str(request.path_params["id"]).rstrip("/")


async def list_services(request: Request) -> Response:
    page = await resolvers(request).services.search(context(request), params.parse(request.url.query))
    return page_response(request, page)


async def create_service(request: Request) -> Response:
    require_json(request)
    ctx = context(request)
    result = await resolvers(request).services.create(ctx, await read_json(request), policy=policy_of(request))
    return await respond(request, ctx, result, 201)


async def get_service(request: Request) -> Response:
    fields = params.parse_fields(request.url.query)
    result = await resolvers(request).services.get(context(request), _id(request), fields)
    return JSONResponse(result.service, headers={"ETag": result.etag})


async def patch_service(request: Request) -> Response:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in PATCH_TYPES:
        raise RestError(
            415, "UnsupportedMediaType",
            f"{kind} is not a patch format; use application/merge-patch+json, application/json "
            "or application/json-patch+json",
        )
    patch = Patch(PATCH_TYPES[kind], await read_json(request))  # type: ignore[arg-type]
    ctx = context(request)
    result = await resolvers(request).services.patch(
        ctx, _id(request), patch, request.headers.get("if-match"), policy=policy_of(request)
    )
    return await respond(request, ctx, result, 200)


async def delete_service(request: Request) -> Response:
    ctx = context(request)
    result = await resolvers(request).services.delete(
        ctx, _id(request), request.headers.get("if-match"), policy=policy_of(request)
    )
    return await respond(request, ctx, result, 204, deleted=True)


async def list_monitors(request: Request) -> Response:
    page = await resolvers(request).monitors.search(context(request), params.parse(request.url.query))
    return page_response(request, page)


async def get_monitor(request: Request) -> Response:
    fields = params.parse_fields(request.url.query)
    return JSONResponse(await resolvers(request).monitors.get(context(request), _id(request), fields))


def routes() -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for prefix in PREFIXES:
        out.append(Route(f"{prefix}/service/{{id:tmf_id}}", get_service, methods=["GET"]))  # the hottest path
        for slash in ("", "/"):
            out.append(Route(f"{prefix}/service{slash}", list_services, methods=["GET"]))
            out.append(Route(f"{prefix}/service{slash}", create_service, methods=["POST"]))
            out.append(Route(f"{prefix}/monitor{slash}", list_monitors, methods=["GET"]))
        out.append(Route(f"{prefix}/service/{{id:tmf_id}}", patch_service, methods=["PATCH"]))
        out.append(Route(f"{prefix}/service/{{id:tmf_id}}", delete_service, methods=["DELETE"]))
        out.append(Route(f"{prefix}/monitor/{{id:tmf_id}}", get_monitor, methods=["GET"]))
        out.extend(hub.routes(prefix))
        out.extend(docs.routes(prefix))
    return out
