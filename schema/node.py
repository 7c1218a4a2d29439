"""Relay's Node interface: one global id per object, and `node(id:)` / `nodes(ids:)` to fetch any of them.

The global id is its own field, `nodeId` (base64 of "Type:id"), beside the TMF `id`, which keeps the value
REST and TMF clients know (a service's id is the one in its href; changing it would break parity with REST
and every stored reference). Relay clients name the id field of Node in their configuration (relay-compiler's
`nodeInterfaceIdField: "nodeId"`; PostGraphile uses the same name). Implemented by Service, Monitor and Hub.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import strawberry

from resolvers.rules.errors import DomainError, InvalidQuery
from schema.context import GraphQLContext
from schema.errors import query_error

Info = strawberry.Info[GraphQLContext, None]
TYPES = ("Service", "Monitor", "Hub")
MAX_NODES = 100


def global_id(type_name: str, key: str) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode())


def parse_global_id(value: str, argument: str) -> tuple[str, str]:
    try:
        text = base64.urlsafe_b64decode(value.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    type_name, _, key = text.partition(":")
    if type_name not in TYPES or not key:
        raise InvalidQuery(argument, f"{value!r} is not a global id this server issued (see nodeId)")
    return type_name, key


@strawberry.interface(description="An object with a global id (Relay): fetch it again with node(id:).")
class Node:
    @strawberry.field(description="Global id, unique across types: pass it to node(id:) / nodes(ids:)")
    def node_id(self) -> strawberry.ID:
        return global_id(type(self).__name__, self.node_key())

    def node_key(self) -> str:
        raise NotImplementedError


async def _load(info: Info, type_name: str, keys: list[str]) -> list[Any]:
    from schema.hubs import hub_of  # here: those modules import this one
    from schema.monitor import monitor_of
    from schema.service import service_of

    loaders = info.context.loaders
    if type_name == "Service":
        return [service_of(v) if v is not None else None for v in await loaders.service.load_many(keys)]
    if type_name == "Monitor":
        return [monitor_of(d) if d is not None else None for d in await loaders.monitor.load_many(keys)]
    return [await hub_of(info, key) for key in keys]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="The object with this global id (nodeId), or null when none is held here")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        try:
            type_name, key = parse_global_id(str(id), "id")
        except DomainError as exc:
            raise query_error(exc) from exc
        (found,) = await _load(info, type_name, [key])
        return found  # type: ignore[no-any-return]

    @strawberry.field(description=f"The objects with these global ids, in order (null where none is held); "
                      f"at most {MAX_NODES}")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        try:
            if len(ids) > MAX_NODES:
                raise InvalidQuery("ids", f"at most {MAX_NODES} ids; got {len(ids)}")
            parsed = [parse_global_id(str(i), f"ids[{n}]") for n, i in enumerate(ids)]
        except DomainError as exc:
            raise query_error(exc) from exc
        out: list[Node | None] = [None] * len(parsed)
        for type_name in TYPES:
            wanted = [n for n, (t, _) in enumerate(parsed) if t == type_name]
            if wanted:
                for n, obj in zip(wanted, await _load(info, type_name, [parsed[n][1] for n in wanted]), strict=True):
                    out[n] = obj
        return out
