"""Who calls and on whose behalf: passed to every resolver from the first day (DESIGN.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import quote


@dataclass(frozen=True)
class Caller:
    """The authenticated caller. Everyone may do everything today; authorisation will check this."""

    identity: str = "anonymous"
    scopes: frozenset[str] = frozenset({"*"})
    tenant: str | None = None
    party_ids: frozenset[str] = frozenset()


SYSTEM = Caller(identity="system")


@dataclass(frozen=True)
class RequestContext:
    """One request as the resolvers see it: caller, correlation id that threads its events, public base URL."""

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
