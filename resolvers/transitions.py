"""Lifecycle verbs (activate, suspend, resume, terminate): named state patches through `Services.patch`.

A verb is a merge of `state` into the service, so it writes the same revision and events as a REST
`PATCH {"state": ...}` would. Suspend and resume also name the state they start from (only an active service
is suspended, only an inactive one resumed); the lifecycle profile decides the rest. The source state is
checked again inside the write (a JSON Patch `test`), so a concurrent change is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resolvers.context import RequestContext
from resolvers.rules.errors import Conflict, InvalidTransition
from resolvers.rules.patching import Patch
from resolvers.services import ServiceResult, Services

ATTEMPTS = 3


@dataclass(frozen=True)
class Verb:
    name: str
    target: str
    sources: frozenset[str] | None = None  # None: whatever the lifecycle allows


VERBS: dict[str, Verb] = {
    "activate": Verb("activate", "active"),
    "suspend": Verb("suspend", "inactive", frozenset({"active"})),
    "resume": Verb("resume", "active", frozenset({"inactive"})),
    "terminate": Verb("terminate", "terminated"),
}


class VerbNotApplicable(InvalidTransition):
    """The verb does not apply to the service's current state (e.g. resuming a service that is active)."""

    def __init__(self, verb: Verb, current: str | None, allowed: list[str]) -> None:
        super().__init__(current, verb.target, allowed)
        sources = ", ".join(sorted(verb.sources or ()))
        self.message = f"{verb.name} applies to a service in state {sources}; this one is {current!r}"
        self.args = (self.message,)


@dataclass
class Transitions:
    services: Services

    async def apply(
        self, ctx: RequestContext, id: str, verb_name: str, if_match: str | None = None, *, policy: str | None = None
    ) -> ServiceResult:
        """Move service `id` as `verb_name` says; InvalidTransition when the lifecycle or the verb refuses.

        `policy` is the activation policy of the work (as on `Services.patch`; None: the default)."""
        verb = VERBS[verb_name]
        for _ in range(ATTEMPTS):
            current = (await self.services.get(ctx, id)).service.get("state")
            current_state = current if isinstance(current, str) else None
            if verb.sources is not None and current_state not in verb.sources:
                raise VerbNotApplicable(verb, current_state, self.services.lifecycle.allowed_from(current_state))
            ops: list[dict[str, Any]] = [{"op": "add", "path": "/state", "value": verb.target}]
            if current_state is not None:
                ops.insert(0, {"op": "test", "path": "/state", "value": current_state})
            try:
                return await self.services.patch(ctx, id, Patch("json", ops), if_match, policy=policy)
            except Conflict:
                continue  # the state moved between the read and the write: decide again on the new one
        raise Conflict(f"service {id!r} kept changing state during {verb.name}; read it again and retry")
