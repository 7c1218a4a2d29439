"""Tables. A service is a document plus projection columns, an attribute index and an edge table.

- `service.doc` holds the TMF document as the client sent it (unknown attributes included), without
  `id`/`href`, which are columns and rendered links.
- Projection columns carry what is filtered and sorted often.
- `service_attr` holds one row per scalar leaf of the document (dotted path, arrays looked through), so that
  any filter on any path is an indexed EXISTS on both SQLite and PostgreSQL. Long texts are indexed by their
  prefix (`value_text`) and kept whole beside it (`value_long`): any value is stored (store.values).
- `service_link` holds supportingService and serviceRelationship edges; trees and dependency graphs are joins.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The tenant of rows written before tenants existed, and of anonymous development callers.
DEFAULT_TENANT = "default"

# JSON on SQLite, JSONB on PostgreSQL.
from sqlalchemy.dialects.postgresql import JSONB  # noqa: E402

Doc = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")

service = Table(
    "service",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("tenant", String(255), nullable=False, server_default=DEFAULT_TENANT, index=True),
    Column("doc", Doc, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("state", String(64), index=True),
    Column("name", String(512), index=True),
    Column("category", String(255), index=True),
    Column("service_type", String(255), index=True),
    Column("type", String(255), index=True),
    Column("is_bundle", Boolean, index=True),
    Column("spec_id", String(255), index=True),
    Column("spec_name", String(255), index=True),
    Column("start_date", DateTime(timezone=True), index=True),
    Column("end_date", DateTime(timezone=True), index=True),
    Column("service_date", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

service_attr = Table(
    "service_attr",
    metadata,
    Column("service_id", String(255), ForeignKey("service.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(512), nullable=False),
    Column("value_text", Text),  # the text form, or its first values.PREFIX characters when longer
    Column("value_long", Text),  # the whole text when longer than values.PREFIX characters (not indexed)
    Column("value_num", Float),
    Column("value_time", DateTime(timezone=True)),
    Index("ix_service_attr_path_text", "path", "value_text"),
    Index("ix_service_attr_path_num", "path", "value_num"),
    Index("ix_service_attr_path_time", "path", "value_time"),
    Index("ix_service_attr_service", "service_id", "path"),
)

service_link = Table(
    "service_link",
    metadata,
    Column("src_id", String(255), ForeignKey("service.id", ondelete="CASCADE"), nullable=False),
    Column("dst_id", String(255), nullable=False),
    Column("kind", String(32), nullable=False),  # "supporting" | "relationship"
    Column("relationship_type", String(255)),
    Column("position", Integer, nullable=False),
    Column("by_value", Boolean, nullable=False, default=False),
    Index("ix_service_link_src", "src_id", "kind"),
    Index("ix_service_link_dst", "dst_id", "kind"),
)

service_revision = Table(
    "service_revision",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(255), nullable=False, server_default=DEFAULT_TENANT, index=True),
    Column("service_id", String(255), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("operation", String(32), nullable=False),  # create | patch | state | delete
    Column("actor", String(255), nullable=False),
    Column("correlation_id", String(255), index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("changes", Doc, nullable=False),  # RFC 6902 patch from the previous document to this one
    Column("state", String(64)),
)

monitor = Table(
    "monitor",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("tenant", String(255), nullable=False, server_default=DEFAULT_TENANT, index=True),
    Column("doc", Doc, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("state", String(64), index=True),
    Column("source_id", String(255), index=True),
    Column("correlation_id", String(255), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

monitor_attr = Table(
    "monitor_attr",
    metadata,
    Column("monitor_id", String(255), ForeignKey("monitor.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(512), nullable=False),
    Column("value_text", Text),
    Column("value_long", Text),
    Column("value_num", Float),
    Column("value_time", DateTime(timezone=True)),
    Index("ix_monitor_attr_path_text", "path", "value_text"),
    Index("ix_monitor_attr_monitor", "monitor_id", "path"),
)

# Transactional outbox: written in the transaction of the change; `seq` orders events in commit order
# (PostgreSQL writers serialise on an advisory lock before inserting, see store.outbox).
event_outbox = Table(
    "event_outbox",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("tenant", String(255), nullable=False, server_default=DEFAULT_TENANT, index=True),
    Column("event_type", String(64), nullable=False, index=True),
    Column("correlation_id", String(255), index=True),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", String(255), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("payload", Doc, nullable=False),
)

# Hub listeners (TMF `POST /hub`): one row per registered callback. `cursor` is the seq of the last event
# delivered (or skipped as not matching); the dispatcher advances it only after a 2xx. `lease_*` lets one
# process at a time deliver to a listener when several share a PostgreSQL database.
hub_listener = Table(
    "hub_listener",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("tenant", String(255), nullable=False, server_default=DEFAULT_TENANT, index=True),
    Column("callback", Text, nullable=False),
    Column("query", Text),
    Column("secret", String(255)),
    Column("owner", String(255), nullable=False),  # identity of the caller who registered it
    Column("state", String(16), nullable=False, index=True),  # active | failing
    Column("cursor", BigId, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),  # failed attempts on the head event
    Column("first_failure_at", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),  # when it was marked failing
    Column("last_error", Text),
    Column("lease_owner", String(255)),
    Column("lease_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per delivery attempt, successful or not: what operators read to see why a listener is failing.
hub_delivery = Table(
    "hub_delivery",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("listener_id", String(64), ForeignKey("hub_listener.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigId, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Float, nullable=False),
    Column("delivered", Boolean, nullable=False),
    Index("ix_hub_delivery_listener", "listener_id", "id"),
)


# Activation engine (resolvers.engine): one row per accepted write that needs work, one row per step.
# `seq` orders the queue: an activation starts only when no earlier unfinished one touches its services.
activation = Table(
    "activation",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("tenant", String(255), nullable=False, server_default=DEFAULT_TENANT, index=True),
    Column("root_id", String(255), nullable=False, index=True),
    Column("operation", String(16), nullable=False),  # create | patch | delete
    Column("policy", String(16), nullable=False),  # atomic | partial
    Column("status", String(16), nullable=False, index=True),  # queued|running|compensating|completed|failed|cancelled
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("cancelled_by", String(255)),
    Column("delete_root", Boolean, nullable=False, default=False),
    Column("monitors", Doc, nullable=False),  # [{"id": ..., "role": "request" | "amend" | "cancel"}]
    Column("lease_owner", String(255)),
    Column("lease_expires", DateTime(timezone=True), index=True),
    Column("done_count", Integer, nullable=False, default=0),
    Column("base_url", String(1024), nullable=False),
    Column("correlation_id", String(255)),
    Column("actor", String(255), nullable=False),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Fallout (docs/activation.md, "Held work"): parked for an operator, bounded retries, jeopardy.
    Column("held_reason", Text),  # not null: held, nobody claims it until an operator acts
    Column("held_at", DateTime(timezone=True)),
    Column("failures", Integer, nullable=False, default=0, server_default="0"),  # unexpected errors in a row
    Column("failing_since", DateTime(timezone=True)),
    Column("retry_after", DateTime(timezone=True)),  # not claimed before this (backoff after an error)
    Column("jeopardy_at", DateTime(timezone=True)),  # flagged running longer than expected
    Column("operator_log", Doc),  # [{"action", "by", "reason", "at"}]
)

activation_step = Table(
    "activation_step",
    metadata,
    Column("id", String(128), primary_key=True),  # stable step id, the drivers' idempotency key
    Column("activation_id", String(64), ForeignKey("activation.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("position", Integer, nullable=False),
    Column("service_id", String(255), nullable=False, index=True),
    Column("depends_on", Doc, nullable=False),  # ids of the steps that must succeed first
    Column("from_state", String(64)),  # predicted when planned, actual once started
    Column("to_state", String(64)),  # None: the step changes no state
    Column("changes", Doc, nullable=False),  # RFC 6902 operations on the as-is document
    Column("by_value", Doc, nullable=False),  # ids of members this change created by value
    Column("action", String(32)),  # predicted when planned, decided when started; None: no network work
    Column("status", String(24), nullable=False),  # pending|running|succeeded|skipped|failed|cancelled
    Column("compensation", String(24)),  # None | running | done | failed
    Column("before_doc", Doc),  # the as-is document when the step started (what compensation restores)
    Column("after_doc", Doc),  # the to-be document sent to the driver
    Column("attempts", Integer, nullable=False, default=0),
    Column("done_order", Integer),  # order of success within the activation (compensation runs it backwards)
    Column("result", Doc),
    Column("error", Text),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("correlation_id", String(255)),  # the request that last shaped this step (an amend), if not the plan's
)
