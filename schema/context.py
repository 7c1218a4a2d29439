"""The GraphQL context: the shared resolvers, the request as resolvers see it, and this request's loaders."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from resolvers.api import Resolvers
from resolvers.context import Authenticate, Caller, RequestContext
from schema.loaders import Loaders


@dataclass
class GraphQLContext:
    """What every field resolver gets as `info.context`. Built once per HTTP request or WebSocket connection."""

    resolvers: Resolvers
    request_context: RequestContext
    request: Any = None
    response: Any = None
    authenticated: bool = True  # False: a WebSocket still to present credentials in connection_init
    authenticate: Authenticate | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.resolvers, self.request_context)

    def identify(self, caller: Caller) -> None:
        """The caller a WebSocket's `connection_init` authenticated: every later operation runs as it."""
        self.request_context = dataclasses.replace(self.request_context, caller=caller)
        self.authenticated = True
        self.after_write()

    def for_write(self, correlation_id: str | None) -> RequestContext:
        """The resolver context of a mutation: the request's, with the caller's correlation id if given."""
        if correlation_id:
            return dataclasses.replace(self.request_context, correlation_id=correlation_id[:255])
        return self.request_context

    def after_write(self) -> None:
        """Forget what this request read so far: a mutation changed it."""
        self.loaders = Loaders(self.resolvers, self.request_context)
