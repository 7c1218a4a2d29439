"""Per-request DataLoaders: every lookup a field makes is batched with its siblings into one resolver call.

Strawberry's DataLoader gathers the keys loaded during one turn of the event loop; graphql-core resolves
the fields of every object of a list in the same turn, so one level of a tree becomes one batch. Loaders
live on the request's context and cache for that request only (a mutation starts them afresh).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from resolvers.navigation import Related, Revision, ServiceView, TreeEntry

# Keys per statement. Bounds IN lists well under every driver's parameter limit; a level wider than this
# costs one more statement per thousand services.
MAX_BATCH = 1000


@dataclass
class Loaders:
    resolvers: Resolvers
    ctx: RequestContext
    service: DataLoader[str, ServiceView | None] = field(init=False)
    bundles: DataLoader[str, list[Related]] = field(init=False)
    dependents: DataLoader[str, list[Related]] = field(init=False)
    revisions: DataLoader[str, list[Revision]] = field(init=False)
    monitors_of: DataLoader[str, list[dict[str, Any]]] = field(init=False)
    monitor: DataLoader[str, dict[str, Any] | None] = field(init=False)
    descendants: DataLoader[tuple[str, int], list[TreeEntry]] = field(init=False)

    def __post_init__(self) -> None:
        nav, ctx = self.resolvers.navigation, self.ctx

        async def services(ids: list[str]) -> Sequence[ServiceView | None]:
            found = await nav.services(ctx, ids)
            return [found.get(i) for i in ids]

        async def bundles(ids: list[str]) -> Sequence[list[Related]]:
            found = await nav.bundles(ctx, ids)
            return [found[i] for i in ids]

        async def dependents(ids: list[str]) -> Sequence[list[Related]]:
            found = await nav.dependents(ctx, ids)
            return [found[i] for i in ids]

        async def revisions(ids: list[str]) -> Sequence[list[Revision]]:
            found = await nav.revisions(ctx, ids)
            return [found[i] for i in ids]

        async def monitors_of(ids: list[str]) -> Sequence[list[dict[str, Any]]]:
            found = await nav.monitors_for(ctx, ids)
            return [found[i] for i in ids]

        async def monitors(ids: list[str]) -> Sequence[dict[str, Any] | None]:
            found = await nav.monitors(ctx, ids)
            return [found.get(i) for i in ids]

        async def descendants(keys: list[tuple[str, int]]) -> Sequence[list[TreeEntry]]:
            by_depth: dict[int, list[str]] = {}
            for root, depth in keys:
                by_depth.setdefault(depth, []).append(root)
            trees: dict[tuple[str, int], list[TreeEntry]] = {}
            for depth, roots in by_depth.items():
                for root, entries in (await nav.descendants(ctx, roots, depth)).items():
                    trees[(root, depth)] = entries
                    for entry in entries:  # the tree's services are loaded: share them with other fields
                        self.service.prime(entry.service.id, entry.service)
            return [trees[k] for k in keys]

        self.service = DataLoader(services, max_batch_size=MAX_BATCH)
        self.bundles = DataLoader(bundles, max_batch_size=MAX_BATCH)
        self.dependents = DataLoader(dependents, max_batch_size=MAX_BATCH)
        self.revisions = DataLoader(revisions, max_batch_size=MAX_BATCH)
        self.monitors_of = DataLoader(monitors_of, max_batch_size=MAX_BATCH)
        self.monitor = DataLoader(monitors, max_batch_size=MAX_BATCH)
        self.descendants = DataLoader(descendants, max_batch_size=MAX_BATCH)
