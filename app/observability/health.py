"""Probes for a load balancer and Kubernetes.

- `GET /health/live`: the process answers (its event loop runs). Nothing else: restarting a process because its
  database is away would not bring the database back.
- `GET /health/ready`: 200 when this process can do its job: the database answers (within `CHECK_SECONDS`),
  every migration is applied, and the bus, relay, hub dispatcher and activation runner are alive; else 503 with
  the part that is not. Take the process out of rotation while it says 503.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from store import migrate

CHECK_SECONDS = 2.0


async def live(request: Request) -> Response:
    return JSONResponse({"status": "live"})


async def _check(name: str, checks: dict[str, Any], work: Any) -> None:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            await work
        checks[name] = {"ok": True}
    except Exception as exc:
        checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__}


async def _migrations(db: Any) -> None:
    applied = await migrate.applied(db)  # raises when the database cannot answer
    heads = migrate.heads()  # read from the revision files once, no Alembic import
    if heads and applied != heads:
        raise RuntimeError(f"database at {sorted(applied) or 'no revision'}, code at {sorted(heads)}")


async def ready(request: Request) -> Response:
    state = request.app.state
    if not hasattr(state, "resolvers"):
        return JSONResponse({"status": "starting"}, status_code=503)
    db = state.resolvers.store.db
    checks: dict[str, Any] = {}
    await _check("database", checks, db.ping())
    if checks["database"]["ok"]:
        await _check("migrations", checks, _migrations(db))
    else:
        checks["migrations"] = {"ok": False, "error": "database unreachable"}
    _, events = state.events.health()
    for part in ("bus", "relay", "dispatcher"):
        checks[part] = {"ok": bool(events[part]["healthy"]),
                        **({"error": events[part]["error"]} if events[part].get("error") else {})}
    if state.settings.runner_enabled:
        alive = state.resolvers.engine.runner.alive
        checks["runner"] = {"ok": alive, **({} if alive else {"error": "the activation runner is not running"})}
    if getattr(state, "pruner", None) is not None:
        checks["retention"] = {"ok": state.pruner.alive}
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ok else "unready", "checks": checks}, status_code=200 if ok else 503)
