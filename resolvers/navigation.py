"""Batched reads for navigating services: many ids in, one SQL statement per lookup out.

GraphQL's per-request loaders call these, so a tree query costs a fixed number of statements per level of
the tree, whatever its breadth. Each method takes every key of one batch and answers for each of them.

Navigation follows what this inventory holds: a `supportingService` or `serviceRelationship` entry that
refers to a service held elsewhere keeps its reference in the raw TMF attribute and is skipped when
navigating (there is no service here to return).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from resolvers.context import RequestContext
from resolvers.monitors import render as render_monitor
from resolvers.rendering import render_services
from resolvers.rules.documents import ref_id
from resolvers.rules.errors import ValidationFailed
from resolvers.services import etag
from store.services import Revision
from store.uow import Store

__all__ = ["MAX_TREE_DEPTH", "Navigation", "Related", "Revision", "ServiceView", "TreeEntry"]

# Deepest `descendants` walk a request may ask for; each level costs one statement.
MAX_TREE_DEPTH = 64


@dataclass(frozen=True)
class ServiceView:
    """One service as both APIs show it: the rendered TMF document and its entity tag."""

    service: dict[str, Any]
    etag: str

    @property
    def id(self) -> str:
        return str(self.service["id"])


@dataclass(frozen=True)
class Related:
    """A service at the other end of an edge, with the edge's `relationshipType` (None for membership)."""

    service_id: str
    relationship_type: str | None


@dataclass(frozen=True)
class TreeEntry:
    """One node of a flattened tree: the service, its distance from the root and the bundle that led to it."""

    service: ServiceView
    depth: int
    parent_id: str


def member_ids(service: Mapping[str, Any]) -> list[str]:
    """Ids the `supportingService` entries of a rendered service point at, in order."""
    out: list[str] = []
    for entry in service.get("supportingService") or []:
        target = ref_id(entry) if isinstance(entry, dict) else None
        if target is not None:
            out.append(target)
    return out


def dependencies_of(service: Mapping[str, Any]) -> list[Related]:
    """The services a rendered service relates to through `serviceRelationship`, with the relationship type."""
    out: list[Related] = []
    for rel in service.get("serviceRelationship") or []:
        if not isinstance(rel, dict) or not isinstance(rel.get("service"), dict):
            continue
        target = ref_id(rel["service"])
        rtype = rel.get("relationshipType")
        if target is not None:
            out.append(Related(target, rtype if isinstance(rtype, str) else None))
    return out


def _possible(ids: Sequence[str]) -> list[str]:
    """The ids a row could have: no database column holds a NUL character."""
    return [i for i in ids if i and "\x00" not in i]


def check_depth(max_depth: int) -> int:
    if max_depth < 1 or max_depth > MAX_TREE_DEPTH:
        raise ValidationFailed("maxDepth", f"must be between 1 and {MAX_TREE_DEPTH}; got {max_depth}")
    return max_depth


@dataclass
class Navigation:
    """Every lookup keyed by many ids; each method runs one statement per call unless its docstring says more."""

    store: Store

    async def services(self, ctx: RequestContext, ids: Sequence[str]) -> dict[str, ServiceView]:
        """The services held here among `ids`, rendered as REST renders them (2 statements)."""
        async with self.store.read(ctx.caller.scope) as uow:
            rows = list((await uow.services.get_many(_possible(ids))).values())
            rendered = await render_services(uow, ctx, rows)
        return {r.id: ServiceView(doc, etag(r.version)) for r, doc in zip(rows, rendered, strict=True)}

    async def bundles(self, ctx: RequestContext, ids: Sequence[str]) -> dict[str, list[Related]]:
        """For each id, the services that list it as a supporting service."""
        return await self._incoming(ctx, ids, "supporting")

    async def dependents(self, ctx: RequestContext, ids: Sequence[str]) -> dict[str, list[Related]]:
        """For each id, the services whose `serviceRelationship` points at it, with the relationship type."""
        return await self._incoming(ctx, ids, "relationship")

    async def _incoming(self, ctx: RequestContext, ids: Sequence[str], kind: str) -> dict[str, list[Related]]:
        out: dict[str, list[Related]] = {i: [] for i in ids}
        async with self.store.read(ctx.caller.scope) as uow:
            links = await uow.services.links_to(ids, kind)
        for link in links:
            seen = out.setdefault(link.dst_id, [])
            if all(r.service_id != link.src_id for r in seen):  # a bundle listing a member twice is one bundle
                seen.append(Related(link.src_id, link.relationship_type))
        return out

    async def revisions(self, ctx: RequestContext, ids: Sequence[str]) -> dict[str, list[Revision]]:
        """For each id, its revisions oldest first (the as-is history; a deleted service keeps its own)."""
        out: dict[str, list[Revision]] = {i: [] for i in ids}
        async with self.store.read(ctx.caller.scope) as uow:
            for rev in await uow.services.revisions(ids):
                out.setdefault(rev.service_id, []).append(rev)
        return out

    async def monitors_for(self, ctx: RequestContext, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """For each service id, the monitors whose source it is, oldest first."""
        out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        async with self.store.read(ctx.caller.scope) as uow:
            rows = await uow.monitors.for_sources(list(dict.fromkeys(ids)))
        for row in rows:
            if row.source_id is not None:
                out.setdefault(row.source_id, []).append(render_monitor(ctx, row))
        return out

    async def monitors(self, ctx: RequestContext, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The monitors held here among `ids`."""
        async with self.store.read(ctx.caller.scope) as uow:
            rows = await uow.monitors.get_many(_possible(ids))
        return {row.id: render_monitor(ctx, row) for row in rows}

    async def descendants(
        self, ctx: RequestContext, roots: Sequence[str], max_depth: int
    ) -> dict[str, list[TreeEntry]]:
        """For each root, its supporting-service tree down to `max_depth`, flattened in pre-order.

        Breadth first, one statement per level for every root at once, then the services themselves (two
        statements). Each service appears once per tree, under the member that reached it first, so cycles
        and shared members end the walk there. Members held elsewhere are left out, with nothing below them.
        """
        check_depth(max_depth)
        children: dict[tuple[str, str], list[str]] = {}
        placed: dict[str, dict[str, tuple[str, int]]] = {root: {} for root in roots}
        frontier: dict[str, list[str]] = {root: [root] for root in roots}
        async with self.store.read(ctx.caller.scope) as uow:
            for depth in range(1, max_depth + 1):
                wanted = {node for nodes in frontier.values() for node in nodes}
                if not wanted:
                    break
                by_src: dict[str, list[str]] = {}
                for link in await uow.services.links_from(wanted, "supporting"):
                    by_src.setdefault(link.src_id, []).append(link.dst_id)
                next_frontier: dict[str, list[str]] = {}
                for root, nodes in frontier.items():
                    for node in nodes:
                        for child in by_src.get(node, []):
                            if child == root or child in placed[root]:
                                continue
                            placed[root][child] = (node, depth)
                            children.setdefault((root, node), []).append(child)
                            next_frontier.setdefault(root, []).append(child)
                frontier = next_frontier
        views = await self.services(ctx, list({c for per_root in placed.values() for c in per_root}))
        return {root: _preorder(root, children, placed[root], views) for root in roots}


def _preorder(
    root: str,
    children: Mapping[tuple[str, str], list[str]],
    placed: Mapping[str, tuple[str, int]],
    views: Mapping[str, ServiceView],
) -> list[TreeEntry]:
    out: list[TreeEntry] = []
    stack = list(reversed(children.get((root, root), [])))
    while stack:
        node = stack.pop()
        view = views.get(node)
        if view is None:  # held elsewhere: no service here, and no members known below it
            continue
        parent, depth = placed[node]
        out.append(TreeEntry(view, depth, parent))
        stack.extend(reversed(children.get((root, node), [])))
    return out
