"""The Service type: every TMF attribute, the whole document, and navigation to related services.

Navigation fields return services held here; a reference to a service held elsewhere stays in the raw
attribute (`supportingService`, `serviceRelationship[].service`) and is skipped by navigation.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from resolvers.navigation import Related, Revision, ServiceView, check_depth, dependencies_of, member_ids
from resolvers.rules.errors import ValidationFailed
from schema.context import GraphQLContext
from schema.convert import from_tmf, tmf_type
from schema.errors import query_error
from schema.node import Node
from schema.tmf import ServiceAttributes

if TYPE_CHECKING:
    from schema.monitor import Monitor

Info = strawberry.Info[GraphQLContext, None]

DEFAULT_TREE_DEPTH = 10


@strawberry.type(description="One entry of the as-is history: what a committed change did, when, and for whom.")
class ServiceRevision:
    version: int = strawberry.field(description="The service version this change produced")
    operation: str = strawberry.field(description="create, patch or delete")
    at: datetime
    actor: str = strawberry.field(description="The caller's identity")
    correlation_id: str | None = strawberry.field(description="Threads the request's changes and events")
    changes: JSON = strawberry.field(description="RFC 6902 operations from the previous document to this one")
    state: str | None = strawberry.field(description="The service's state after the change")

    @classmethod
    def of(cls, rev: Revision) -> ServiceRevision:
        return cls(
            version=rev.version, operation=rev.operation, at=rev.at, actor=rev.actor,
            correlation_id=rev.correlation_id, changes=JSON(rev.changes), state=rev.state,
        )


@strawberry.type(description="A service related through serviceRelationship, with the relationship's type.")
class ServiceDependency:
    relationship_type: str | None
    service: Service


@strawberry.type(description="A node of a flattened tree: the service, how deep it is, and its bundle.")
class ServiceTreeNode:
    depth: int = strawberry.field(description="1 for a direct member of the root, 2 for a member of one, ...")
    parent_id: strawberry.ID = strawberry.field(description="The bundle this service was reached from")
    service: Service


@tmf_type(
    description="A TMF640 service held in this inventory, with navigation to related services.", plain=("etag",)
)
class Service(ServiceAttributes, Node):
    id: strawberry.ID
    etag: str = strawberry.field(description="Entity tag of this version; pass it as ifMatch to guard a write")
    document: JSON = strawberry.field(description="The whole TMF representation, exactly as REST returns it")

    @property
    def key(self) -> str:
        """The service id (in Python, TMF fields are resolvers: read the document)."""
        return str(self.tmf["id"])

    def node_key(self) -> str:
        return self.key

    @strawberry.field(description="Members (supportingService) held here, in order; external references skipped")
    async def supporting_services(self, info: Info) -> list[Service]:
        views = await info.context.loaders.service.load_many(member_ids(self.tmf))
        return [service_of(v) for v in views if v is not None]

    @strawberry.field(description="Services that list this one as a supporting service")
    async def bundles(self, info: Info) -> list[Service]:
        return await _services(info, await info.context.loaders.bundles.load(self.key))

    @strawberry.field(description="Services this one relates to through serviceRelationship, held here")
    async def dependencies(self, info: Info) -> list[ServiceDependency]:
        return await _dependencies(info, dependencies_of(self.tmf))

    @strawberry.field(description="Services whose serviceRelationship points at this one")
    async def dependents(self, info: Info) -> list[ServiceDependency]:
        return await _dependencies(info, await info.context.loaders.dependents.load(self.key))

    @strawberry.field(
        description="The supporting-service tree below this service, flattened in pre-order (each service once, "
        "under the bundle that reached it first; cycle-safe). maxDepth: 1 to 64."
    )
    async def descendants(self, info: Info, max_depth: int = DEFAULT_TREE_DEPTH) -> list[ServiceTreeNode]:
        try:
            check_depth(max_depth)
        except ValidationFailed as exc:
            raise query_error(exc) from exc
        entries = await info.context.loaders.descendants.load((self.key, max_depth))
        return [
            ServiceTreeNode(depth=e.depth, parent_id=strawberry.ID(e.parent_id), service=service_of(e.service))
            for e in entries
        ]

    @strawberry.field(description="Monitors tracking work on this service, oldest first")
    async def monitors(self, info: Info) -> list[Annotated[Monitor, strawberry.lazy("schema.monitor")]]:
        from schema.monitor import monitor_of  # here: schema.monitor imports this module

        return [monitor_of(doc) for doc in await info.context.loaders.monitors_of.load(self.key)]

    @strawberry.field(description="The as-is history of this service, oldest first")
    async def revisions(self, info: Info) -> list[ServiceRevision]:
        return [ServiceRevision.of(r) for r in await info.context.loaders.revisions.load(self.key)]


async def _services(info: Info, related: list[Related]) -> list[Service]:
    views = await info.context.loaders.service.load_many([r.service_id for r in related])
    return [service_of(v) for v in views if v is not None]


async def _dependencies(info: Info, related: list[Related]) -> list[ServiceDependency]:
    views = await info.context.loaders.service.load_many([r.service_id for r in related])
    return [
        ServiceDependency(relationship_type=r.relationship_type, service=service_of(v))
        for r, v in zip(related, views, strict=True)
        if v is not None
    ]


def service_of(view: ServiceView) -> Service:
    return from_tmf(Service, view.service, etag=view.etag)
