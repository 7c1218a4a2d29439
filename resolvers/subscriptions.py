"""What a GraphQL subscription watches: its arguments checked, then the event feed filtered to them.

The one implementation behind `serviceChanged`, `monitorChanged` and `events` (schema/subscription.py is a
thin generator over these). Arguments are checked before the stream starts, so a bad one is an error of the
subscribe request (ValidationFailed naming it), not of a later event. Each stream is `EventFeed.stream`: after
`after` (an eventId) from the outbox, then live, no gap, no duplicate; closing it leaves the bus.

A tree (`treeOf`) is the bundle and every service below it through `supportingService`, as it stands when
events arrive: members known at subscription time, members an event of the tree announces, and any other
service whose bundles lead up to a known one (looked up when its event arrives: one statement per level, so
members created by value in the same request as their bundle, whose events come first, are in the tree too).
The bundles taken into account are those of the to-be: a write under way that adds a member (by value or by
reference) links it only when the bundle's own step succeeds, after the member's events (members before their
bundle), so the members the tree's unfinished work will list count as well.
A member removed from the tree keeps being reported until the subscription ends. Asked for with `eventTypes`,
a tree subscription also reports the tree's work: MonitorCreateEvent when work on one of its services is
accepted, MonitorStateChangeEvent when it ends (the monitor names the service it works on).
A `treeOf` naming no service the caller can see is an error of the subscribe request, unless it resumes
(`after`): a client may watch a tree whose creation it replays or is about to make.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

from resolvers.activation.to_be import Chain, predict
from resolvers.context import RequestContext
from resolvers.feed import EventFeed, FeedEvent
from resolvers.navigation import MAX_TREE_DEPTH, Navigation, member_ids
from resolvers.rules.envelope import EVENT_TYPES, MONITOR_EVENTS, SERVICE_EVENTS
from resolvers.rules.errors import ValidationFailed
from resolvers.rules.matching import parse_event_query
from store.query_form import Condition
from store.uow import Store

MAX_IDS = 1000
MAX_ID_LENGTH = 255
# The tree's work a tree subscription reports when `eventTypes` asks for it: accepted, then ended.
TREE_WORK_EVENTS = ("MonitorCreateEvent", "MonitorStateChangeEvent")


def work_service_id(payload: dict[str, Any]) -> str | None:
    """The service a monitor event's work is on (its response summary names it), or None."""
    monitor = (payload.get("event") or {}).get("monitor") or {}
    body = (monitor.get("response") or {}).get("body")
    try:
        summary = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return None
    service = summary.get("service") if isinstance(summary, dict) else None
    sid = service.get("id") if isinstance(service, dict) else None
    return sid if isinstance(sid, str) else None


def _check_event_types(given: Sequence[str] | None, allowed: Sequence[str], path: str) -> tuple[str, ...]:
    if given is None:
        return ()
    for i, name in enumerate(given):
        if name not in allowed:
            raise ValidationFailed(f"{path}[{i}]", f"unknown event type {name!r}; use one of {', '.join(allowed)}")
    return tuple(given)


def _check_ids(given: Sequence[str] | None, path: str) -> tuple[str, ...]:
    if given is None:
        return ()
    if len(given) > MAX_IDS:
        raise ValidationFailed(path, f"lists more than {MAX_IDS} ids")
    for i, value in enumerate(given):
        if not value or len(value) > MAX_ID_LENGTH:
            raise ValidationFailed(f"{path}[{i}]", f"must be an id of 1 to {MAX_ID_LENGTH} characters")
    return tuple(given)


def _one_of(path: str, values: Sequence[str]) -> tuple[Condition, ...]:
    return (Condition(tuple(path.split(".")), "eq", tuple(values)),) if values else ()


@dataclass
class Tree:
    """Membership of one bundle's tree, growing as events reveal members (see the module docstring)."""

    navigation: Navigation
    store: Store
    root: str
    known: set[str] = field(default_factory=set)
    ctx: RequestContext = field(default_factory=RequestContext)

    async def load(self, ctx: RequestContext, *, resuming: bool) -> None:
        """Members as they stand now. A root that does not exist is an error, unless the subscription resumes
        (`after`): its client may be watching a tree whose creation it replays or is about to make."""
        self.ctx = ctx
        if not resuming:
            async with self.store.read(ctx.caller.scope) as uow:
                found = await uow.services.states([self.root])
            if self.root not in found:
                raise ValidationFailed("treeOf", f"no service with id {self.root!r}; give the id of an existing "
                                                 "service (or resume with `after` to watch one being created)")
        entries = await self.navigation.descendants(ctx, [self.root], MAX_TREE_DEPTH)
        self.known = {self.root, *(e.service.id for e in entries[self.root])}

    async def contains(self, event: FeedEvent) -> bool:
        if event.resource_type == "monitor":  # work on one of the tree's services
            worked_on = work_service_id(event.payload)
            return worked_on is not None and (worked_on in self.known or await self._joins(worked_on))
        service = event.payload.get("event", {}).get("service") or {}
        sid = event.resource_id
        if sid not in self.known and not await self._joins(sid):
            return False
        self.known.add(sid)
        if event.event_type != "ServiceDeleteEvent":
            self.known.update(member_ids(service))
        return True

    async def _joins(self, sid: str) -> bool:
        # The unfinished work is read before the stored links: work that finishes in between has stored them.
        pending = await self._pending_members()
        return sid in pending or await self._reaches(sid, self.known | pending)

    async def _pending_members(self) -> set[str]:
        """Members the tree's services will list once their unfinished work is done."""
        async with self.store.read(self.ctx.caller.scope) as uow:
            chains: dict[str, Chain] = {}
            for act, step in await uow.activations.unfinished_for(sorted(self.known)):
                chains.setdefault(step.service_id, []).append((act, step))
            # only a change of attributes can add a member; a state change alone cannot
            changing = [sid for sid, chain in chains.items() if any(s.changes or s.by_value for _, s in chain)]
            rows = await uow.services.get_many(changing)
        pending: set[str] = set()
        for sid, row in rows.items():
            to_be, _ = predict(row.doc, chains[sid])
            pending.update(member_ids(to_be))
        return pending - self.known

    async def _reaches(self, sid: str, tree: set[str]) -> bool:
        seen, frontier = {sid}, [sid]
        for _ in range(MAX_TREE_DEPTH):
            bundles = await self.navigation.bundles(self.ctx, frontier)
            parents = {r.service_id for rel in bundles.values() for r in rel} - seen
            if parents & tree:
                return True
            if not parents:
                return False
            seen |= parents
            frontier = sorted(parents)
        return False


@dataclass
class Subscriptions:
    """Streams of committed events for GraphQL subscriptions, filtered as each subscription asks."""

    store: Store
    feed: EventFeed
    navigation: Navigation

    async def _check_after(self, ctx: RequestContext, after: str | None) -> int | None:
        """The seq of `after` (None without it): ValidationFailed("after") when the caller has no such event."""
        return None if after is None else await self.feed.seq_of(ctx, after)

    async def service_changes(
        self,
        ctx: RequestContext,
        *,
        ids: Sequence[str] | None = None,
        tree_of: str | None = None,
        states: Sequence[str] | None = None,
        event_types: Sequence[str] | None = None,
        correlation_id: str | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[FeedEvent, None]:
        """Service events: of `ids` or within the tree of `tree_of` (either matches when both are given); with
        `tree_of`, `event_types` may also ask for the tree's work (TREE_WORK_EVENTS)."""
        wanted_ids = _check_ids(ids, "ids")
        if tree_of is not None:
            _check_ids([tree_of], "treeOf")
        allowed = SERVICE_EVENTS + TREE_WORK_EVENTS if tree_of is not None else SERVICE_EVENTS
        types = _check_event_types(event_types, allowed, "eventTypes") or SERVICE_EVENTS
        start = await self._check_after(ctx, after)
        conditions = (
            *_one_of("eventType", types),
            *_one_of("event.service.state", states or ()),
            *_one_of("correlationId", [correlation_id] if correlation_id is not None else ()),
        )
        tree: Tree | None = None
        if tree_of is not None:
            tree = Tree(self.navigation, self.store, tree_of)
            await tree.load(ctx, resuming=after is not None)

        async def chosen(event: FeedEvent) -> bool:
            if event.resource_type == "monitor":
                return tree is not None and await tree.contains(event)
            if not wanted_ids and tree is None:
                return True
            if event.resource_id in wanted_ids:
                if tree is not None:
                    await tree.contains(event)  # keeps the tree's membership current
                return True
            return tree is not None and await tree.contains(event)

        return self.feed.stream(ctx, after=after, after_seq=start, conditions=conditions, predicate=chosen)

    async def monitor_changes(
        self,
        ctx: RequestContext,
        *,
        id: str | None = None,
        states: Sequence[str] | None = None,
        event_types: Sequence[str] | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[FeedEvent, None]:
        """Monitor events: of one monitor when `id` is given, in `states` when given."""
        if id is not None:
            _check_ids([id], "id")
        types = _check_event_types(event_types, MONITOR_EVENTS, "eventTypes") or MONITOR_EVENTS
        start = await self._check_after(ctx, after)
        conditions = (
            *_one_of("eventType", types),
            *_one_of("event.monitor.id", [id] if id is not None else ()),
            *_one_of("event.monitor.state", states or ()),
        )
        return self.feed.stream(ctx, after=after, after_seq=start, conditions=conditions)

    async def events(
        self,
        ctx: RequestContext,
        *,
        event_types: Sequence[str] | None = None,
        query: str | None = None,
        after: str | None = None,
    ) -> AsyncGenerator[FeedEvent, None]:
        """Every event, or those of `event_types` matching `query` (the hub's REST filter syntax on the event)."""
        types = _check_event_types(event_types, EVENT_TYPES, "eventTypes")
        parse_event_query(query)  # InvalidQuery naming the bad part, before anything runs
        start = await self._check_after(ctx, after)
        return self.feed.stream(ctx, after=after, after_seq=start, query=query,
                                conditions=_one_of("eventType", types))
