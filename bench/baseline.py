"""The bare baseline of the GET figure: Starlette + aiosqlite returning the same JSON row as the server.

One aiosqlite connection per process, opened at start; a GET reads the service's document by id and answers it
with `id` and `href` added, as `GET /service/{id}` does for a service with no members and no work under way.
Served by the same uvicorn with the same options as `tmf640 serve` (bench.servers starts both).

    python -m bench.baseline DATABASE_FILE PORT
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

API = "/tmf-api/serviceActivationAndConfiguration/v4"


def create_app(path: str) -> Starlette:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["db"] = await aiosqlite.connect(path)
        try:
            yield
        finally:
            await state["db"].close()

    async def get_service(request: Request) -> Response:
        id = request.path_params["id"]
        async with state["db"].execute("SELECT doc FROM service WHERE id = ?", (id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return JSONResponse({"code": "404", "reason": "not found"}, status_code=404)
        doc = json.loads(row[0])
        body = {"id": id, "href": f"{request.base_url}{API[1:]}/service/{id}", **doc}
        return JSONResponse(body)

    return Starlette(routes=[Route(f"{API}/service/{{id}}", get_service)], lifespan=lifespan)


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="info",
                proxy_headers=True)
