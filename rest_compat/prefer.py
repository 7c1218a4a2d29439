"""When a write answers (README, "REST timing").

- `Prefer: respond-async` (RFC 7240): 202 Accepted at once, `Location` naming the Monitor, the Monitor as body.
- Otherwise the write waits for its work, at most `TMF640_SYNC_WAIT_SECONDS` (or less with `Prefer: wait=N`),
  woken by the runner through an in-process notification, never by polling:
  done -> 201/200 with the resource (204 for DELETE); failed -> the TMF Error (502 when the network refused,
  409 when a later request cancelled it) with `Location` naming the Monitor; still running -> 202 + Monitor.
  What a Monitor's outcome means (status, error code, message) is decided once, in
  `resolvers.rules.monitor_docs.verdict`, read here through `resolvers.monitors`.
- The activation policy of a bundle comes from the `X-Activation-Policy` header or the `activationPolicy`
  query parameter (`atomic` or `partial`); the server default otherwise.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from resolvers.services import ServiceResult
from rest_compat.errors import error_response
from rest_compat.http import resolvers as resolvers_of
from rest_compat.http import rest_config
from rest_compat.responses import JSONResponse

POLICY_HEADER = "x-activation-policy"
POLICY_PARAM = "activationPolicy"


def _preferences(request: Request) -> list[str]:
    return [p.strip().lower() for value in request.headers.getlist("prefer") for p in re.split(r"[,;]", value)]


def prefers_async(request: Request) -> bool:
    return "respond-async" in _preferences(request)


def preferred_wait(request: Request) -> float | None:
    for pref in _preferences(request):
        name, _, value = pref.partition("=")
        if name.strip() == "wait":
            try:
                return max(0.0, float(value.strip().strip('"')))
            except ValueError:
                return None
    return None


def policy_of(request: Request) -> str | None:
    return request.headers.get(POLICY_HEADER) or request.query_params.get(POLICY_PARAM)


async def respond(
    request: Request, ctx: RequestContext, result: ServiceResult, success_status: int, *, deleted: bool = False
) -> Response:
    resolvers: Resolvers = resolvers_of(request)
    monitor = result.monitor
    asked_async = prefers_async(request)
    if monitor is not None and not asked_async and not resolvers.monitors.verdict(monitor).final:
        bound = rest_config(request).sync_wait_seconds
        wanted = preferred_wait(request)
        limit = bound if wanted is None else min(bound, wanted)
        monitor = await resolvers.engine.wait(ctx, str(monitor["id"]), limit) or monitor
    verdict = resolvers.monitors.verdict(monitor) if monitor is not None else None
    if monitor is not None and verdict is not None and (asked_async or not verdict.final):
        headers = {"Location": str(monitor["href"])}
        if asked_async:
            headers["Preference-Applied"] = "respond-async"
        return JSONResponse(monitor, status_code=202, headers=headers)
    if monitor is not None and verdict is not None and verdict.failed:
        assert verdict.status_code is not None and verdict.error is not None and verdict.message is not None
        return error_response(verdict.status_code, verdict.error, verdict.message,
                              headers={"Location": str(monitor["href"])})
    if deleted:
        return Response(status_code=204)
    fresh = await resolvers.services.get(ctx, str(result.service["id"]))
    return JSONResponse(fresh.service, status_code=success_status,
                        headers={"Location": str(fresh.service["href"]), "ETag": fresh.etag})
