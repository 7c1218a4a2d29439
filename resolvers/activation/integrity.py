"""Graph integrity of a write, checked in its unit of work before anything is planned.

- a service cannot be its own member (`supportingService` naming itself);
- no write may close a cycle of `supportingService` (A → B → A), through stored links or links the same
  request adds;
- a link may not name a service of another tenant (references to services not held here stay allowed).
"""

from __future__ import annotations

from collections.abc import Sequence

from resolvers.rules.documents import NewService
from resolvers.rules.errors import DependencyCycle, ValidationFailed
from store.uow import UnitOfWork

SUPPORTING = "supporting"


async def check_links(uow: UnitOfWork, services: Sequence[NewService]) -> None:
    new = {s.id: [link.dst_id for link in s.links if link.kind == SUPPORTING] for s in services}
    for s in services:
        for link in s.links:
            if link.kind == SUPPORTING and link.dst_id == s.id:
                raise ValidationFailed(f"supportingService[{link.position}]",
                                       f"service {s.id!r} cannot be its own member")
    foreign = await uow.services.held_elsewhere({link.dst_id for s in services for link in s.links})
    if foreign:
        raise ValidationFailed("supportingService", f"{sorted(foreign)[0]!r} is not a service this caller may "
                                                    "refer to")
    before = {(link.src_id, link.dst_id) for link in await uow.services.links_from(list(new), SUPPORTING)}
    for src, targets in new.items():
        for dst in dict.fromkeys(targets):
            if (src, dst) not in before:  # only a link this write adds can close a cycle
                await _no_cycle(uow, src, dst, new)


async def _no_cycle(uow: UnitOfWork, src: str, dst: str, new: dict[str, list[str]]) -> None:
    """Whether `dst` reaches `src` through supportingService (the request's links replacing the stored ones of
    the services it writes), level by level, one statement per level: the new link src -> dst closes a cycle."""
    parent: dict[str, str] = {dst: src}
    frontier, seen = [dst], {dst}
    while frontier:
        if src in frontier:
            path, node = [src], parent[src]
            while node != src and len(path) <= len(parent):
                path.append(node)
                node = parent[node]
            raise DependencyCycle([src, *reversed(path[1:]), src], "supportingService")
        stored = [n for n in frontier if n not in new]
        children: dict[str, list[str]] = {n: list(new[n]) for n in frontier if n in new}
        for link in await uow.services.links_from(stored, SUPPORTING):
            children.setdefault(link.src_id, []).append(link.dst_id)
        following: list[str] = []
        for node, targets in children.items():
            for target in targets:
                if target not in seen:
                    seen.add(target)
                    parent[target] = node
                    following.append(target)
        frontier = following
