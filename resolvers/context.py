"""Who calls and on whose behalf: passed to every resolver from the first day (DESIGN.md)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

# Scopes, each granting what the ones before it grant (docs/security.md).
READ, WRITE, ADMIN = "read", "write", "admin"
SCOPES = (READ, WRITE, ADMIN)
DEFAULT_TENANT = "default"  # rows written before tenants existed; anonymous development callers
EVERY_TENANT = "*"  # a caller (admin only) who sees every tenant's resources


@dataclass(frozen=True)
class Caller:
    """Who calls: identity, the tenant whose resources it sees and the scopes it was granted.

    The default is the anonymous caller of a development server without authentication settings: every
    scope, in the default tenant.
    """

    identity: str = "anonymous"
    scopes: frozenset[str] = frozenset(SCOPES)
    tenant: str = DEFAULT_TENANT
    party_ids: frozenset[str] = frozenset()

    def may(self, scope: str) -> bool:
        """Whether the caller holds `scope` (admin grants write and read; write grants read)."""
        held = [SCOPES.index(s) for s in self.scopes if s in SCOPES]
        return bool(held) and max(held) >= SCOPES.index(scope)

    @property
    def scope(self) -> str | None:
        """The tenant the store confines this caller's reads and writes to (None: every tenant)."""
        return None if self.tenant == EVERY_TENANT else self.tenant


SYSTEM = Caller(identity="system")


@dataclass(frozen=True)
class RequestContext:
    """One request as the resolvers see it: caller, correlation id that threads its events, public base URL.

    Built once per request (HTTP or WebSocket) by the request edge (app.edge) for both APIs.
    """

    caller: Caller = field(default_factory=Caller)
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    base_url: str = "http://127.0.0.1:8640"

    # Ids are any string: an href carries it percent-encoded, so that braces, spaces or slashes stay one segment.
    def service_href(self, id: str) -> str:
        return f"{self.base_url}{API_PREFIX}/service/{quote(id, safe='')}"

    def monitor_href(self, id: str) -> str:
        return f"{self.base_url}{API_PREFIX}/monitor/{quote(id, safe='')}"

    def hub_href(self, id: str) -> str:
        return f"{self.base_url}{API_PREFIX}/hub/{quote(id, safe='')}"


API_PREFIX = "/tmf-api/serviceActivationAndConfiguration/v4"



# Who a credential names: raises resolvers.rules.errors.Unauthenticated when it names no one.
Authenticate = Callable[[str | None], Awaitable[Caller]]
