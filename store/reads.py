"""Reads that cost one statement: a service with what its representation needs, found by one indexed query.

`GET /service/{id}` needs the document, the documents of the members it holds by value (rendered inline) and
whether work is under way (then `x-activation` is rendered, which takes a second read only in that case). One
SELECT answers all three: the members are aggregated as JSON in a correlated subquery on `service_link`'s
(src_id, kind) index, the work under way is an EXISTS on `activation_step`'s service_id index. The statement is
compiled once per dialect; it runs outside any transaction (`Database.run_read`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect, ScalarSelect, exists, func, literal_column, select, true

from store.activation_types import UNFINISHED
from store.tables import activation, activation_step, service, service_link


@dataclass(frozen=True)
class ServiceView:
    id: str
    doc: dict[str, Any]
    version: int
    members: dict[str, dict[str, Any]]  # documents of the members held by value, by id
    busy: bool  # an unfinished activation touches the service: its `x-activation` needs another read


_member = service.alias("member")


def _members(dialect: str, tenant: Any) -> ScalarSelect[Any]:
    if dialect == "postgresql":
        agg = func.json_agg(func.json_build_object("id", _member.c.id, "doc", _member.c.doc))
    else:
        agg = func.json_group_array(func.json_object("id", _member.c.id, "doc", func.json(_member.c.doc)))
    return (
        select(agg)
        .select_from(service_link.join(_member, _member.c.id == service_link.c.dst_id))
        .where(service_link.c.src_id == service.c.id, service_link.c.by_value.is_(True),
               true() if tenant is None else _member.c.tenant == tenant)
        .scalar_subquery()
    )


def _busy() -> Any:
    return exists(
        select(1)
        .select_from(activation_step.join(activation, activation.c.id == activation_step.c.activation_id))
        .where(activation_step.c.service_id == service.c.id, activation.c.status.in_(UNFINISHED))
    )


# The id and the tenant as positional parameters, per DBAPI paramstyle: (placeholder of the id, of the tenant,
# whether the tenant placeholder is numbered, i.e. written once in the parameters whatever its uses).
_PLACEHOLDERS = {"qmark": ("?", "?", False), "format": ("%s", "%s", False), "numeric_dollar": ("$1", "$2", True),
                 "numeric": (":1", ":2", True)}


def _sql(dialect: Dialect, confined: bool) -> str:
    """The statement as SQL text, compiled once per dialect: constants inline, the id (and the tenant, when the
    caller is confined to one) its parameters. The tenant filters the service and its members."""
    id_mark, tenant_mark, _ = _PLACEHOLDERS[dialect.paramstyle]
    tenant: Any = literal_column(tenant_mark) if confined else None
    where = [service.c.id == literal_column(id_mark)]
    if tenant is not None:
        where.append(service.c.tenant == tenant)
    stmt = select(service.c.doc, service.c.version, _members(dialect.name, tenant), _busy()).where(*where)
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _parameters(dialect: Dialect, id: str, tenant: str | None) -> tuple[str, ...]:
    if tenant is None:
        return (id,)
    if _PLACEHOLDERS[dialect.paramstyle][2]:
        return (id, tenant)
    return (tenant, id, tenant)  # in the order of the text: the members' subquery comes first


_SQL: dict[tuple[str, bool], str] = {}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def service_view(conn: Connection, tenant: str | None, id: str) -> ServiceView | None:
    """The service `id` of `tenant` (None: any) with its by-value members and whether work is under way, in
    one statement. Another tenant's service is not found, as in the repositories (store.services).

    The SQL text is sent as is (`exec_driver_sql`): no statement to build, no cache key to compute per call.
    """
    key = (conn.dialect.name, tenant is not None)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = _sql(conn.dialect, tenant is not None)
    found = conn.exec_driver_sql(sql, _parameters(conn.dialect, id, tenant)).first()
    if found is None:
        return None
    doc, version, members, busy = found
    by_value = {m["id"]: m["doc"] for m in _json(members) or []}
    return ServiceView(id, _json(doc), int(version), by_value, bool(busy))
