"""What a PATCH asks for: the patch applied to the service as a GET shows it.

JSON Pointers and `test` operations see the representation a client reads: `id`, `href`, and the members
the service holds by value rendered inline. The patched representation is then turned back into what is
stored: a member held by value may be kept, dropped, reordered or referenced, but not changed through its
parent (it is a service of its own, patched at its own href); new members given by value become services.

The engine plans a write against the *predicted* document (what in-flight work will leave behind), so that
is what the patch sees, with `x-activation` (rendered, never stored) dropped from what the client sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from resolvers.activation.to_be import Chain
from resolvers.context import RequestContext
from resolvers.rules import documents, patching
from resolvers.rules.errors import Conflict, ValidationFailed
from resolvers.rules.intents import EXTENSION
from resolvers.rules.lifecycle import Lifecycle
from resolvers.rules.validation import validate
from store.uow import UnitOfWork


@dataclass(frozen=True)
class Held:
    """The members a service holds by value (ids, including those an in-flight change adds) and their docs."""

    ids: set[str]
    docs: dict[str, dict[str, Any]]


async def held(uow: UnitOfWork, sid: str, chain: Chain) -> Held:
    ids = {link.dst_id for link in await uow.services.links_from([sid]) if link.by_value}
    for _, step in chain:
        if step.service_id == sid:
            ids |= set(step.by_value)
    rows = await uow.services.get_many(sorted(ids))
    return Held(ids, {mid: row.doc for mid, row in rows.items()})


def patched(
    lifecycle: Lifecycle, ctx: RequestContext, sid: str, predicted: Mapping[str, Any], members: Held,
    patch: patching.Patch,
) -> tuple[documents.NewService, list[documents.NewService]]:
    """(the service as the patch leaves it, the new members it gives by value); raises on a bad patch."""
    current = documents.render(sid, {k: v for k, v in predicted.items() if k != EXTENSION}, ctx.service_href,
                               members.docs)
    result = patching.apply(current, patch)
    result.pop(EXTENSION, None)
    documents.check_members_unchanged(current, result, members.ids)
    stored = documents.strip_rendered(result, members.ids)
    # A service whose creation failed has no state yet; the published schema wants one on a whole service.
    validate("Service_Create", stored if "state" in stored else {**stored, "state": "designed"})
    if "state" in stored:
        lifecycle.check_state(stored["state"])
    parent_state = stored.get("state")

    def check_member(path: str, member: dict[str, Any]) -> None:
        if parent_state is not None:
            member.setdefault("state", parent_state)
        try:
            validate("Service_Create", member)
            lifecycle.check_state(member.get("state"))
        except ValidationFailed as exc:
            raise ValidationFailed(f"{path}.{exc.path}" if exc.path else path, exc.detail) from exc

    plan = documents.plan_create({**stored, "id": sid}, check_member)
    new_members = plan[1:]
    ids = [m.id for m in new_members]
    if len(set(ids)) != len(ids) or sid in ids:
        raise ValidationFailed("supportingService", "the patch names one service id twice")
    return plan[0], new_members


async def check_new_ids(uow: UnitOfWork, new_members: list[documents.NewService]) -> None:
    """A member given by value with an id another service has is a conflict, not a second service."""
    taken = await uow.services.existing_ids(m.id for m in new_members)
    if taken:
        raise Conflict(f"a service with id {sorted(taken)[0]!r} already exists")
