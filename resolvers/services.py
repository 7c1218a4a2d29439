"""Service operations: the one implementation behind REST and GraphQL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from resolvers import documents, events, patching
from resolvers.context import RequestContext
from resolvers.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from resolvers.lifecycle import Lifecycle
from resolvers.query import ListQuery, Page, check, select_fields
from resolvers.validation import validate
from store.errors import BadValue, StaleVersion
from store.services import Link, ServiceRow
from store.uow import Store, UnitOfWork

MAX_WRITE_ATTEMPTS = 5


def etag(version: int) -> str:
    return f'"{version}"'


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceResult:
    service: dict[str, Any]
    etag: str


@dataclass
class Services:
    """Create, read, query, patch and delete services; every change writes a revision and its events."""

    store: Store
    lifecycle: Lifecycle
    max_page: int = 1000

    # ---- reads -------------------------------------------------------------------------------------------

    async def get(self, ctx: RequestContext, id: str, fields: frozenset[str] | None = None) -> ServiceResult:
        async with self.store.read() as uow:
            row = await uow.services.get(id)
            if row is None:
                raise NotFound("Service", id)
            rendered = (await self._render(uow, ctx, [row]))[0]
        check("service", ListQuery(fields=fields), self.max_page)
        return ServiceResult(select_fields(rendered, fields), etag(row.version))

    async def search(self, ctx: RequestContext, query: ListQuery) -> Page:
        query = check("service", query, self.max_page)
        limit = query.limit if query.limit is not None else self.max_page
        async with self.store.read() as uow:
            try:
                rows, total = await uow.services.search(query, limit)
            except BadValue as exc:
                raise ValidationFailed(exc.path, exc.message) from exc
            rendered = await self._render(uow, ctx, rows)
        items = [select_fields(item, query.fields) for item in rendered]
        return Page(items=items, total=total, offset=query.offset, limit=limit)

    async def _render(self, uow: UnitOfWork, ctx: RequestContext, rows: list[ServiceRow]) -> list[dict[str, Any]]:
        by_value = [link for link in await uow.services.links_from([r.id for r in rows]) if link.by_value]
        members = await uow.services.get_many(link.dst_id for link in by_value)
        member_docs = {mid: m.doc for mid, m in members.items()}
        return [documents.render(r.id, r.doc, ctx.service_href, member_docs) for r in rows]

    # ---- writes ------------------------------------------------------------------------------------------

    async def create(self, ctx: RequestContext, body: Any) -> ServiceResult:
        validate("Service_Create", body)
        self.lifecycle.check_state(body.get("state"))
        parent_state = body["state"]

        def check_member(path: str, member: dict[str, Any]) -> None:
            member.setdefault("state", parent_state)
            try:
                validate("Service_Create", member)
                self.lifecycle.check_state(member.get("state"))
            except ValidationFailed as exc:
                raise ValidationFailed(f"{path}.{exc.path}" if exc.path else path, exc.detail) from exc

        plan = documents.plan_create(body, check_member)
        now = _now()
        async with self.store.write() as uow:
            taken = await uow.services.existing_ids(s.id for s in plan)
            if taken:
                raise Conflict(f"a service with id {sorted(taken)[0]!r} already exists")
            ids = [s.id for s in plan]
            if len(set(ids)) != len(ids):
                raise ValidationFailed("id", "the request names one service id twice")
            for new in plan:
                await uow.services.insert(new.id, new.doc, new.links, now)
                await uow.services.add_revision(
                    service_id=new.id, version=1, operation="create", actor=ctx.caller.identity,
                    correlation_id=ctx.correlation_id, at=now,
                    changes=patching.diff({}, new.doc), state=new.doc.get("state"),
                )
            rows = list((await uow.services.get_many(ids)).values())
            rendered = {r["id"]: r for r in await self._render(uow, ctx, rows)}
            for new in reversed(plan):  # members first: a listener learns of a bundle after its parts
                await self._emit(uow, ctx, "ServiceCreateEvent", rendered[new.id], now)
        return ServiceResult(rendered[plan[0].id], etag(1))

    async def patch(
        self, ctx: RequestContext, id: str, patch: patching.Patch, if_match: str | None = None
    ) -> ServiceResult:
        for attempt in range(MAX_WRITE_ATTEMPTS):
            try:
                return await self._patch_once(ctx, id, patch, if_match)
            except StaleVersion:
                if if_match is not None or attempt == MAX_WRITE_ATTEMPTS - 1:
                    raise Conflict(f"service {id!r} changed during the update; read it again and retry") from None
        raise AssertionError("unreachable")

    async def _patch_once(
        self, ctx: RequestContext, id: str, patch: patching.Patch, if_match: str | None
    ) -> ServiceResult:
        now = _now()
        async with self.store.write() as uow:
            row = await uow.services.get(id, for_update=True)
            if row is None:
                raise NotFound("Service", id)
            self._check_if_match(if_match, row.version)
            current = {"id": row.id, **row.doc}
            patched = patching.apply(current, patch)
            patched.pop("href", None)
            validate("Service_Create", patched)
            self.lifecycle.check(row.doc.get("state"), patched.get("state"))  # type: ignore[arg-type]
            old_by_value = {
                link.dst_id for link in await uow.services.links_from([id]) if link.by_value
            }
            plan = documents.plan_create({**patched, "id": id}, lambda path, m: validate("Service_Create", m))
            me, new_members = plan[0], plan[1:]
            links = [replace(link, by_value=link.by_value or link.dst_id in old_by_value) for link in me.links]
            ops = patching.diff(row.doc, me.doc)
            if not ops and not new_members:
                rendered = (await self._render(uow, ctx, [row]))[0]
                return ServiceResult(rendered, etag(row.version))
            for new in new_members:
                await uow.services.insert(new.id, new.doc, new.links, now)
                await uow.services.add_revision(
                    service_id=new.id, version=1, operation="create", actor=ctx.caller.identity,
                    correlation_id=ctx.correlation_id, at=now,
                    changes=patching.diff({}, new.doc), state=new.doc.get("state"),
                )
            version = await uow.services.update(id, me.doc, links, row.version, now)
            await uow.services.add_revision(
                service_id=id, version=version, operation="patch", actor=ctx.caller.identity,
                correlation_id=ctx.correlation_id, at=now, changes=ops, state=me.doc.get("state"),
            )
            fresh = await uow.services.get(id)
            assert fresh is not None
            rendered = (await self._render(uow, ctx, [fresh]))[0]
            if new_members:  # members given by value in the patch are services of their own: announce them first
                created = await uow.services.get_many(n.id for n in new_members)
                members = {r["id"]: r for r in await self._render(uow, ctx, list(created.values()))}
                for new in reversed(new_members):
                    await self._emit(uow, ctx, "ServiceCreateEvent", members[new.id], now)
            await self._emit_change(uow, ctx, row.doc, me.doc, ops, rendered, now)
        return ServiceResult(rendered, etag(version))

    async def delete(self, ctx: RequestContext, id: str, if_match: str | None = None) -> None:
        now = _now()
        async with self.store.write() as uow:
            row = await uow.services.get(id, for_update=True)
            if row is None:
                raise NotFound("Service", id)
            self._check_if_match(if_match, row.version)
            rendered = (await self._render(uow, ctx, [row]))[0]
            await uow.services.delete(id)
            await uow.services.add_revision(
                service_id=id, version=row.version + 1, operation="delete", actor=ctx.caller.identity,
                correlation_id=ctx.correlation_id, at=now, changes=[], state=row.doc.get("state"),
            )
            await self._emit(uow, ctx, "ServiceDeleteEvent", rendered, now)

    # ---- helpers -----------------------------------------------------------------------------------------

    @staticmethod
    def _check_if_match(if_match: str | None, version: int) -> None:
        if if_match is None:
            return
        tags = [t.strip() for t in if_match.split(",")]
        current = etag(version)
        if "*" not in tags and current not in tags and f"W/{current}" not in tags:
            raise PreconditionFailed(if_match, current)

    async def _emit_change(
        self,
        uow: UnitOfWork,
        ctx: RequestContext,
        before: dict[str, Any],
        after: dict[str, Any],
        ops: list[dict[str, Any]],
        rendered: dict[str, Any],
        now: datetime,
    ) -> None:
        changed = events.changed_attributes(ops)
        other = [name for name in changed if name != "state"]
        if other:
            await self._emit(uow, ctx, "ServiceAttributeValueChangeEvent", rendered, now, other)
        if before.get("state") != after.get("state"):
            await self._emit(uow, ctx, "ServiceStateChangeEvent", rendered, now)

    @staticmethod
    async def _emit(
        uow: UnitOfWork,
        ctx: RequestContext,
        event_type: str,
        resource: dict[str, Any],
        now: datetime,
        field_paths: list[str] | None = None,
    ) -> None:
        ev = events.build(event_type, resource, correlation_id=ctx.correlation_id, at=now, field_paths=field_paths)
        await uow.outbox.add(
            event_id=ev.event_id, event_type=ev.event_type, correlation_id=ev.correlation_id,
            resource_type=ev.resource_type, resource_id=ev.resource_id, at=ev.at, payload=ev.payload,
        )


__all__ = ["Link", "ServiceResult", "Services", "etag"]
