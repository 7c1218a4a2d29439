"""An ASGI app built when first needed: the GraphQL endpoint (Strawberry, graphql-core and the schema's types
cost about half of a server's start-up CPU) is built after the server answers, not before.

`warm()` starts building it in a worker thread (the lifespan calls it once the server is ready); the first
request that arrives before it is done waits for it. Errors in building surface at that request.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future

from starlette.types import ASGIApp, Receive, Scope, Send


class LazyASGI:
    def __init__(self, make: Callable[[], ASGIApp], name: str) -> None:
        self._make = make
        self._name = name
        self._app: ASGIApp | None = None
        self._future: Future[ASGIApp] | None = None
        self._lock = threading.Lock()

    def warm(self) -> Future[ASGIApp]:
        """Start building the app in a worker thread (once); its future."""
        with self._lock:
            if self._future is None:
                future: Future[ASGIApp] = Future()

                def build() -> None:
                    try:
                        future.set_result(self._make())
                    except BaseException as exc:  # handed to the request that waits for it
                        future.set_exception(exc)

                threading.Thread(target=build, name=f"tmf640-build-{self._name}", daemon=True).start()
                self._future = future
            return self._future

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = await asyncio.wrap_future(self.warm())
        await self._app(scope, receive, send)
