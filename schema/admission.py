"""Admission control of GraphQL: what a client may send before it costs the server much (docs/security.md).

- a byte cap on the document, checked before anything parses it (HTTP 413, or a WebSocket `error` message);
- parse and validation of a large document run in one worker thread, never on the event loop, one at a time;
- caps on WebSocket connections, global and per client address (closed with 4429 and a reason naming the cap);
- a cap on `subscribe` messages per connection and second (a token bucket; an `error` message past it);
- introspection off in production unless a setting allows it (schema.build);
- an address that keeps being refused gets its refusals late (RefusalThrottle): a client looping on refused
  documents then costs the server a few answers a second, not as many as it can send.

Every refusal is logged as one line by `refused`: the code, the document's size and the start of its SHA-256,
the client's address; never the document itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:  # graphql-core loads with the GraphQL endpoint (app.lazy), not with the gate a server starts with
    from graphql import DocumentNode, GraphQLError

log = logging.getLogger("tmf640.admission")

# A document at least this long is parsed and validated in the worker thread: a small one costs less than the
# hand-over (the portal's queries are a few hundred bytes; a 4 KiB document parses and validates in ~10 ms).
OFFLOAD_BYTES = 4096
CLOSE_TOO_MANY = 4429  # WebSocket close code of a connection refused by a connection cap
HASH_CHARS = 12
_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="graphql-admission")
# While the worker computes, the event loop thread waits for the GIL each time it took up I/O: at most this long
# (CPython's default is 5 ms, which a request pays at every await on a thread, such as aiosqlite's).
SWITCH_INTERVAL = 0.001


@dataclass(frozen=True)
class AdmissionLimits:
    """The caps of app.settings.Settings (TMF640_GRAPHQL_*); the defaults match its defaults."""

    max_document_bytes: int = 32_768
    max_ws_connections: int = 10_000
    max_ws_connections_per_client: int = 1_000
    subscribe_rate: float = 10.0  # subscribe messages per second and connection, sustained
    subscribe_burst: int = 40  # ... and at once (twice max_subscriptions)
    refusal_delay: float = 1.0  # seconds a refusal past an address's allowance is held before it is answered


def fingerprint(document: str | bytes | None) -> tuple[int, str]:
    """Size in bytes and the start of the SHA-256 of a document: enough to find it again, nothing of its text."""
    if document is None:
        return 0, ""
    data = document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document
    return len(data), hashlib.sha256(data).hexdigest()[:HASH_CHARS]


def refused(code: str, *, client: str | None, document: str | bytes | None = None, **fields: Any) -> None:
    """The one log line of a refusal: `code`, size and hash of the document, the client; never the text."""
    size, digest = fingerprint(document)
    log.warning("refused %s", code, extra={
        "event": "refused", "code": code, "size": size, "sha256": digest, "client": client or "unknown", **fields})


def client_of(scope: Any) -> str | None:
    client = scope.get("client") if isinstance(scope, dict) else None
    return str(client[0]) if client else None


def too_large(size: int, limit: int) -> GraphQLError:
    from graphql import GraphQLError

    return GraphQLError(
        f"The GraphQL document is {size} bytes; this server accepts at most {limit} "
        "(TMF640_GRAPHQL_MAX_DOCUMENT_BYTES)", extensions={"code": "DocumentTooLarge", "limit": limit})


def oversized(query: object, limit: int) -> int | None:
    """The document's size in bytes when it is above `limit`, else None (cheap: no parse, at most one encode)."""
    if not isinstance(query, str) or len(query) * 4 <= limit:  # UTF-8 takes at most 4 bytes a character
        return None
    size = len(query) if query.isascii() else len(query.encode("utf-8", "surrogatepass"))
    return size if size > limit else None


async def off_loop(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `function` in the admission worker: one large document at a time, the event loop free meanwhile."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_WORKER, lambda: function(*args, **kwargs))


class ConnectionGate:
    """Counts open WebSocket connections, in all and per client address; admits one or names the cap it breaks."""

    def __init__(self, limits: AdmissionLimits) -> None:
        self.limits = limits
        self.total = 0
        self.by_client: Counter[str] = Counter()

    def admit(self, client: str | None) -> str | None:
        """None and counted when admitted; else why not (a close reason, under 123 bytes)."""
        key = client or "unknown"
        if self.total >= self.limits.max_ws_connections:
            return f"server full: {self.limits.max_ws_connections} connections (TMF640_GRAPHQL_MAX_WS_CONNECTIONS)"
        if self.by_client[key] >= self.limits.max_ws_connections_per_client:
            return (f"too many connections from {key}: at most {self.limits.max_ws_connections_per_client} "
                    "(TMF640_GRAPHQL_MAX_WS_PER_CLIENT)")[:120]
        self.total += 1
        self.by_client[key] += 1
        return None

    def release(self, client: str | None) -> None:
        key = client or "unknown"
        self.total -= 1
        self.by_client[key] -= 1
        if self.by_client[key] <= 0:
            del self.by_client[key]


class WebSocketGate:
    """ASGI middleware, outermost: a WebSocket past a connection cap is refused before anything else runs
    (no authentication, no request log lines): accepted and closed at once with 4429 and the cap as reason (a
    refusal before accepting would reach the client as a bare HTTP 403, without a reason)."""

    def __init__(self, app: ASGIApp, *, limits: AdmissionLimits) -> None:
        self.app = app
        self.gate = ConnectionGate(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        client = client_of(scope)
        reason = self.gate.admit(client)
        if reason is None:
            try:
                await self.app(scope, receive, send)
            finally:
                self.gate.release(client)
            return
        refused("TooManyConnections", client=client, transport="websocket", reason=reason)
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        offered = list(scope.get("subprotocols") or [])
        await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
        await send({"type": "websocket.close", "code": CLOSE_TOO_MANY, "reason": reason})


class RefusalThrottle:
    """Refusals per client address: a bucket of `burst` refused requests, refilled at `rate` a second; a refusal
    past it is answered `delay` seconds late (a tarpit). A client looping on refused documents from one address,
    or a socket sending refused `subscribe` messages, then waits for each answer, so it sends a few a second;
    an admitted request is never delayed, whoever sends it. At most `max_held` answers wait at once (past it
    they go out at once) and at most `max_clients` addresses are tracked (the longest quiet dropped first).
    """

    def __init__(self, delay: float, *, burst: int = 20, rate: float = 2.0, max_held: int = 1_000,
                 max_clients: int = 10_000) -> None:
        self.delay, self.burst, self.rate = delay, float(burst), rate
        self.max_held, self.max_clients = max_held, max_clients
        self.held = 0
        self.buckets: dict[str, tuple[float, float]] = {}  # address: (refusals still allowed, when counted)

    def delay_for(self, client: str | None, now: float | None = None) -> float:
        """Counts one refusal for `client`: 0.0 while it is within its allowance, else the delay to apply."""
        if self.delay <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        key = client or "unknown"
        tokens, at = self.buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if len(self.buckets) >= self.max_clients:
            del self.buckets[next(iter(self.buckets))]  # insertion order: the one refused longest ago
        if tokens >= 1.0:
            self.buckets[key] = (tokens - 1.0, now)
            return 0.0
        self.buckets[key] = (tokens, now)
        return self.delay

    async def hold(self, client: str | None) -> None:
        """Count a refusal for `client` and wait as long as its allowance requires, before it is answered."""
        delay = self.delay_for(client)
        if delay <= 0 or self.held >= self.max_held:
            return
        self.held += 1
        try:
            await self.pause(delay)
        finally:
            self.held -= 1

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class SubscribeRate:
    """A token bucket per connection: `burst` subscribe messages at once, `rate` a second after that."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def rate_error(rate: float, burst: int) -> GraphQLError:
    from graphql import GraphQLError

    return GraphQLError(
        f"Too many subscribe messages on this connection: at most {burst} at once and {rate:g} a second "
        "(TMF640_GRAPHQL_SUBSCRIBE_RATE); try again later", extensions={"code": "RateLimited"})


# Validation is quadratic in the selections of one selection set that share a response name (graphql-core's
# OverlappingFieldsCanBeMerged compares them pairwise: 1,300 `id`s in 4 KB cost ~0.5 s). A document is first
# checked for its shape, in one linear walk: at most MAX_SELECTIONS_PER_SET selections (fields, fragment spreads,
# inline fragments) in one selection set (the widest type, Service, has 40 fields; aliases add at most 50) and
# MAX_SELECTIONS in all. Bounded so, validation costs what a real document costs (the 18 KB tree query: ~50 ms).
MAX_SELECTIONS_PER_SET = 200
MAX_SELECTIONS = 5_000


def shape_error(document: DocumentNode) -> GraphQLError | None:
    """A refusal when a selection set or the whole document holds too many selections, else None."""
    from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, SelectionSetNode

    total = 0
    sets: list[SelectionSetNode] = [d.selection_set for d in document.definitions
                                    if isinstance(d, (OperationDefinitionNode, FragmentDefinitionNode))]
    while sets:
        current = sets.pop()
        selections = current.selections or ()
        total += len(selections)
        if len(selections) > MAX_SELECTIONS_PER_SET:
            return GraphQLError(
                f"A selection set holds {len(selections)} selections; at most {MAX_SELECTIONS_PER_SET} are "
                "accepted", extensions={"code": "DocumentTooComplex"})
        if total > MAX_SELECTIONS:
            return GraphQLError(f"The document holds more than {MAX_SELECTIONS} selections",
                                extensions={"code": "DocumentTooComplex"})
        for selection in selections:
            child = getattr(selection, "selection_set", None)
            if child is not None:
                sets.append(child)
    return None
