"""Service operations: the one implementation behind REST and GraphQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from resolvers.activation.intake import Intake, RequestInfo
from resolvers.context import API_PREFIX, WRITE, RequestContext
from resolvers.engine import Engine
from resolvers.rendering import render_services
from resolvers.rules import documents, patching
from resolvers.rules.errors import Conflict, NotFound, PreconditionFailed, Unauthorised, ValidationFailed
from resolvers.rules.lifecycle import Lifecycle
from resolvers.rules.query_check import ListQuery, Page, check, select_fields
from resolvers.rules.validation import validate
from store.errors import BadValue, StaleVersion
from store.services import Link, ServiceRow
from store.uow import Store, UnitOfWork

MAX_WRITE_ATTEMPTS = 5


def etag(version: int) -> str:
    return f'"{version}"'


def _now() -> datetime:
    return datetime.now(UTC)


def _check_writer(ctx: RequestContext) -> None:
    """Writes need the `write` scope, and a tenant: a caller of every tenant ("*") reads but does not write."""
    if not ctx.caller.may(WRITE):
        raise Unauthorised("writing services needs the 'write' scope")
    if ctx.caller.scope is None:
        raise Unauthorised("a caller of every tenant cannot write services: use a credential of the tenant")


def _check_id(id: str) -> None:
    """Ids no service can have (empty, or with a NUL that no database column holds) are simply unknown."""
    if not id or "\x00" in id:
        raise NotFound("Service", id)


@dataclass(frozen=True)
class ServiceResult:
    """A service as it stands, its entity tag, and (for writes) the Monitor of the work the write started."""

    service: dict[str, Any]
    etag: str
    monitor: dict[str, Any] | None = None


@dataclass
class Services:
    """Create, read, query, patch and delete services; every change writes a revision and its events.

    Writes go through the activation engine: see `create`, `patch`, `delete` below.
    """

    store: Store
    lifecycle: Lifecycle
    max_page: int = 1000
    engine_: Engine | None = None  # the activation engine; a private one (never started) when not given

    @property
    def engine(self) -> Engine:
        if self.engine_ is None:
            self.engine_ = Engine(self.store, self.lifecycle)
        return self.engine_

    # ---- reads -------------------------------------------------------------------------------------------

    async def get(self, ctx: RequestContext, id: str, fields: frozenset[str] | None = None) -> ServiceResult:
        if fields is not None:
            check("service", ListQuery(fields=fields), self.max_page)
        _check_id(id)
        view = await self.store.service_view(ctx.caller.scope, id)  # one statement, no transaction (store.reads)
        if view is None:
            raise NotFound("Service", id)
        if not view.busy:
            rendered = documents.render(id, view.doc, ctx.service_href, view.members, fresh=True)
            return ServiceResult(select_fields(rendered, fields), etag(view.version))
        async with self.store.read(ctx.caller.scope) as uow:  # work under way: `x-activation` needs its steps
            row = await uow.services.get(id)
            if row is None:
                raise NotFound("Service", id)
            rendered = (await self._render(uow, ctx, [row]))[0]
        return ServiceResult(select_fields(rendered, fields), etag(row.version))

    async def search(self, ctx: RequestContext, query: ListQuery) -> Page:
        query = check("service", query, self.max_page)
        limit = query.limit if query.limit is not None else self.max_page
        async with self.store.read(ctx.caller.scope) as uow:
            try:
                rows, total, keys = await uow.services.search(query, limit)
            except BadValue as exc:
                raise ValidationFailed(exc.path, exc.message) from exc
            rendered = await self._render(uow, ctx, rows)
        items = [select_fields(item, query.fields) for item in rendered]
        return Page(
            items=items, total=total, offset=query.offset, limit=limit, versions=[r.version for r in rows], keys=keys
        )

    async def _render(self, uow: UnitOfWork, ctx: RequestContext, rows: list[ServiceRow]) -> list[dict[str, Any]]:
        return await render_services(uow, ctx, rows)

    # ---- writes ------------------------------------------------------------------------------------------
    # A write records its intent and returns at once with the service (as-is, plus `x-activation` while work
    # is under way) and the Monitor of the work; `Engine.wait` waits for the outcome (README, "Activation").

    @property
    def _intake(self) -> Intake:
        return self.engine.intake

    def check_create(self, body: Any, *, quick: bool = False) -> None:
        """A Service_Create document against the schema and the lifecycle (its members: `plan_create`).
        `quick`: a compiled validator answers first (rules.validation.validate)."""
        validate("Service_Create", body, quick=quick)
        self.lifecycle.check_state(body.get("state"))

    def plan_create(self, body: Any, *, quick: bool = False, fresh: bool = False) -> list[documents.NewService]:
        """A checked Service_Create document (`check_create`) split into the services it creates, parent first,
        its members by value checked. Raises ValidationFailed naming the first problem. `fresh`: `body` is
        not used afterwards and is taken apart instead of copied (documents.plan_create)."""
        parent_state = body["state"]

        def check_member(path: str, member: dict[str, Any]) -> None:
            member.setdefault("state", parent_state)
            try:
                validate("Service_Create", member, quick=quick)
                self.lifecycle.check_state(member.get("state"))
            except ValidationFailed as exc:
                raise ValidationFailed(f"{path}.{exc.path}" if exc.path else path, exc.detail) from exc

        return documents.plan_create(body, check_member, fresh=fresh)

    def create_info(self, ctx: RequestContext, body: Any, policy: str) -> RequestInfo:
        return RequestInfo("POST", f"{ctx.base_url}{API_PREFIX}/service", body, self._headers(ctx, policy))

    async def create(self, ctx: RequestContext, body: Any, *, policy: str | None = None) -> ServiceResult:
        _check_writer(ctx)
        self.check_create(body)
        chosen = self._intake.policy(policy)
        plan = self.plan_create(body)
        info = self.create_info(ctx, body, chosen)
        now = _now()
        async with self.store.write(ctx.caller.scope) as uow:
            taken = await uow.services.existing_ids(s.id for s in plan)
            if taken:
                raise Conflict(f"a service with id {sorted(taken)[0]!r} already exists")
            ids = [s.id for s in plan]
            if len(set(ids)) != len(ids):
                raise ValidationFailed("id", "the request names one service id twice")
            sub = await self._intake.create(uow, ctx, info, plan, chosen, now)
            row = await uow.services.get(plan[0].id)
            assert row is not None
            rendered = (await self._render(uow, ctx, [row]))[0]
        self.engine.submitted(sub)
        return ServiceResult(rendered, etag(row.version), sub.monitor)

    async def patch(
        self,
        ctx: RequestContext,
        id: str,
        patch: patching.Patch,
        if_match: str | None = None,
        *,
        policy: str | None = None,
    ) -> ServiceResult:
        _check_writer(ctx)
        chosen = self._intake.policy(policy)
        for attempt in range(MAX_WRITE_ATTEMPTS):
            try:
                return await self._patch_once(ctx, id, patch, if_match, chosen)
            except StaleVersion:
                if if_match is not None or attempt == MAX_WRITE_ATTEMPTS - 1:
                    raise Conflict(f"service {id!r} changed during the update; read it again and retry") from None
        raise AssertionError("unreachable")

    async def _patch_once(
        self, ctx: RequestContext, id: str, patch: patching.Patch, if_match: str | None, policy: str
    ) -> ServiceResult:
        now = _now()
        kind = "application/merge-patch+json" if patch.kind == "merge" else "application/json-patch+json"
        info = RequestInfo("PATCH", ctx.service_href(id), patch.body, self._headers(ctx, policy, kind))
        _check_id(id)
        async with self.store.write(ctx.caller.scope) as uow:
            row = await uow.services.get(id, for_update=True)
            if row is None:
                raise NotFound("Service", id)
            self._check_if_match(if_match, row.version)
            sub = await self._intake.patch(uow, ctx, info, row, patch, policy, now)
            fresh = await uow.services.get(id)
            assert fresh is not None
            rendered = (await self._render(uow, ctx, [fresh]))[0]
        self.engine.submitted(sub)
        return ServiceResult(rendered, etag(fresh.version), sub.monitor)

    async def delete(
        self, ctx: RequestContext, id: str, if_match: str | None = None, *, policy: str | None = None
    ) -> ServiceResult:
        """Remove a service: cancel work in flight, terminate it in the network, then delete the record.

        The result holds the service as it stood when the request was accepted, and the Monitor.
        """
        _check_writer(ctx)
        chosen = self._intake.policy(policy)
        now = _now()
        info = RequestInfo("DELETE", ctx.service_href(id), None, self._headers(ctx, chosen))
        _check_id(id)
        async with self.store.write(ctx.caller.scope) as uow:
            row = await uow.services.get(id, for_update=True)
            if row is None:
                raise NotFound("Service", id)
            self._check_if_match(if_match, row.version)
            rendered = (await self._render(uow, ctx, [row]))[0]
            sub = await self._intake.delete(uow, ctx, info, row, chosen, now)
        self.engine.submitted(sub)
        return ServiceResult(rendered, etag(row.version), sub.monitor)

    # ---- helpers -----------------------------------------------------------------------------------------

    @staticmethod
    def _headers(ctx: RequestContext, policy: str, kind: str = "application/json") -> list[tuple[str, str]]:
        return [("Content-Type", kind), ("X-Correlation-Id", ctx.correlation_id), ("X-Activation-Policy", policy)]

    @staticmethod
    def _check_if_match(if_match: str | None, version: int) -> None:
        if if_match is None:
            return
        tags = [t.strip() for t in if_match.split(",")]
        current = etag(version)
        if "*" not in tags and current not in tags and f"W/{current}" not in tags:
            raise PreconditionFailed(if_match, current)


__all__ = ["Link", "ServiceResult", "Services", "etag"]
