"""Bundle planning: the order in which the services of one request are driven. Plain Python.

The graph has two kinds of edges (README, "Bundles"):
- `supportingService`: a bundle is driven after its members (members first);
- `serviceRelationship` whose type is in the dependency vocabulary below: the dependent after its dependency.
  Other relationship types are kept on the service but do not order anything.
Deactivation and termination walk every edge backwards. A cycle is refused before any work starts.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from resolvers.rules.errors import DependencyCycle

# `A <type> B` where A depends on B (B goes first). Matched case-insensitively, ignoring `-`, `_` and spaces.
DEPENDS_ON = frozenset({
    "dependson", "dependenton", "dependentupon", "dependsupon", "isdependenton", "relieson", "reliesupon",
    "requires", "needs", "isprecededby", "startsafter",
})
# `A <type> B` where B depends on A (A goes first).
REQUIRED_BY = frozenset({
    "requiredby", "isrequiredby", "prerequisitefor", "isprerequisitefor", "precedes", "dependencyof",
})


def _normal(relationship_type: str) -> str:
    return re.sub(r"[^a-z]", "", relationship_type.lower())


def dependency_direction(relationship_type: str | None) -> int:
    """+1 when the source depends on the target, -1 when the target depends on the source, 0 otherwise."""
    if not relationship_type:
        return 0
    key = _normal(relationship_type)
    if key in DEPENDS_ON:
        return 1
    if key in REQUIRED_BY:
        return -1
    return 0


@dataclass(frozen=True)
class Edge:
    """A link as the store holds it: `src` uses `dst` as a member, or relates to it."""

    src: str
    dst: str
    kind: str  # "supporting" | "relationship"
    relationship_type: str | None = None


def prerequisites(nodes: Iterable[str], edges: Iterable[Edge]) -> dict[str, set[str]]:
    """For each node, the nodes that must be done before it when activating (the upward direction)."""
    held = set(nodes)
    before: dict[str, set[str]] = {n: set() for n in held}
    for e in edges:
        if e.src not in held or e.dst not in held or e.src == e.dst:
            continue
        if e.kind == "supporting":
            before[e.src].add(e.dst)  # members first
        else:
            direction = dependency_direction(e.relationship_type)
            if direction > 0:
                before[e.src].add(e.dst)
            elif direction < 0:
                before[e.dst].add(e.src)
    return before


def find_cycle(before: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a closed path, or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(before, white)
    for start in sorted(before):
        if colour[start] != white:
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(before[start]))]
        path = [start]
        colour[start] = grey
        while stack:
            node, todo = stack[-1]
            if not todo:
                colour[node] = black
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if colour.get(nxt) == grey:
                return [*path[path.index(nxt):], nxt]
            if colour.get(nxt) == white:
                colour[nxt] = grey
                path.append(nxt)
                stack.append((nxt, sorted(before[nxt])))
    return None


@dataclass(frozen=True)
class Plan:
    """Services that need work, in an order that honours every dependency, and each one's prerequisites."""

    order: list[str]
    depends_on: dict[str, list[str]]


def plan(
    nodes: list[str], work: set[str], edges: Iterable[Edge], *, down: bool = False
) -> Plan:
    """Order the services in `work` (a subset of `nodes`, which lists the whole graph in request order).

    A node without work still carries order: if A depends on B, B on C, and only A and C need work,
    A still waits for C. Raises DependencyCycle when the graph has a cycle (before any work starts).
    """
    before = prerequisites(nodes, edges)
    cycle = find_cycle(before)
    if cycle is not None:
        raise DependencyCycle(cycle)
    if down:
        after: dict[str, set[str]] = {n: set() for n in before}
        for node, reqs in before.items():
            for r in reqs:
                after[r].add(node)
        before = after
    deps = {n: sorted(_nearest_work(n, before, work), key=nodes.index) for n in nodes if n in work}
    return Plan(order=_topological(nodes, deps), depends_on=deps)


def _nearest_work(node: str, before: Mapping[str, set[str]], work: set[str]) -> set[str]:
    found: set[str] = set()
    seen: set[str] = set()
    todo = list(before.get(node, ()))
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in work:
            found.add(n)
        else:
            todo.extend(before.get(n, ()))
    return found


def _topological(nodes: list[str], deps: Mapping[str, list[str]]) -> list[str]:
    """Kahn's algorithm; among ready nodes the one listed first in the request goes first (deterministic)."""
    position = {n: i for i, n in enumerate(nodes)}
    waiting = {n: set(d) for n, d in deps.items()}
    users: dict[str, list[str]] = {n: [] for n in deps}
    for n, d in deps.items():
        for r in d:
            users[r].append(n)
    ready = [(position[n], n) for n, d in waiting.items() if not d]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, n = heapq.heappop(ready)
        out.append(n)
        for u in users[n]:
            waiting[u].discard(n)
            if not waiting[u]:
                heapq.heappush(ready, (position[u], u))
    return out
