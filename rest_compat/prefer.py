"""When a write answers (README, "REST timing").

- `Prefer: respond-async` (RFC 7240): 202 Accepted at once, `Location` naming the Monitor, the Monitor as body.
- Otherwise the write waits for its work, at most `TMF640_SYNC_WAIT_SECONDS` (or less with `Prefer: wait=N`),
  woken by the runner through an in-process notification, never by polling:
  done -> 201/200 with the resource (204 for DELETE); failed -> the TMF Error (502 when the network refused,
  409 when a later request cancelled it) with `Location` naming the Monitor; still running -> 202 + Monitor.
- The activation policy of a bundle comes from the `X-Activation-Policy` header or the `activationPolicy`
  query parameter (`atomic` or `partial`); the server default otherwise.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from resolvers.rules import monitor_docs
from resolvers.services import ServiceResult
from rest_compat.errors import error_response
from rest_compat.http import resolvers as resolvers_of
from rest_compat.http import rest_config

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


def _failure_message(monitor: dict[str, object]) -> str:
    summary = monitor_docs.summary_of(monitor)
    href = monitor.get("href")
    if summary.get("outcome") == "cancelled":
        return f"the work was cancelled by a later request (monitor {summary.get('cancelledBy')}); see {href}"
    errors = [f"{m.get('id')}: {m['error']}" for m in monitor_docs.member_statuses(monitor)
              if m.get("status") in ("failed", "compensationFailed") and m.get("error")]
    detail = "; ".join(errors[:5]) or str(summary.get("error") or "the activation failed")
    return f"{detail}; see {href}"


async def respond(
    request: Request, ctx: RequestContext, result: ServiceResult, success_status: int, *, deleted: bool = False
) -> Response:
    resolvers: Resolvers = resolvers_of(request)
    monitor = result.monitor
    asked_async = prefers_async(request)
    if monitor is not None and not asked_async and not monitor_docs.is_final(monitor):
        bound = rest_config(request).sync_wait_seconds
        wanted = preferred_wait(request)
        limit = bound if wanted is None else min(bound, wanted)
        monitor = await resolvers.engine.wait(ctx, str(monitor["id"]), limit) or monitor
    if monitor is not None and (asked_async or not monitor_docs.is_final(monitor)):
        headers = {"Location": str(monitor["href"])}
        if asked_async:
            headers["Preference-Applied"] = "respond-async"
        return JSONResponse(monitor, status_code=202, headers=headers)
    if monitor is not None and monitor.get("state") == monitor_docs.IN_ERROR:
        status = int(str((monitor.get("response") or {}).get("statusCode", "502")))
        cancelled = monitor_docs.summary_of(monitor).get("outcome") == "cancelled"
        return error_response(status, "ActivationCancelled" if cancelled else "ActivationFailed",
                              _failure_message(monitor), headers={"Location": str(monitor["href"])})
    if deleted:
        return Response(status_code=204)
    fresh = await resolvers.services.get(ctx, str(result.service["id"]))
    return JSONResponse(fresh.service, status_code=success_status,
                        headers={"Location": str(fresh.service["href"]), "ETag": fresh.etag})
