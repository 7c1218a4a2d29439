"""TMF event construction (TMF688 envelope). Plain Python; the outbox stores what this builds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SERVICE_EVENTS = ("ServiceCreateEvent", "ServiceAttributeValueChangeEvent", "ServiceStateChangeEvent",
                  "ServiceDeleteEvent")
MONITOR_EVENTS = ("MonitorCreateEvent", "MonitorAttributeValueChangeEvent", "MonitorStateChangeEvent",
                  "MonitorDeleteEvent")
EVENT_TYPES = SERVICE_EVENTS + MONITOR_EVENTS
DOMAIN = "serviceActivationAndConfiguration"

_TITLES = {
    "ServiceCreateEvent": "Service created",
    "ServiceAttributeValueChangeEvent": "Service attributes changed",
    "ServiceStateChangeEvent": "Service state changed",
    "ServiceDeleteEvent": "Service deleted",
    "MonitorCreateEvent": "Monitor created",
    "MonitorAttributeValueChangeEvent": "Monitor attributes changed",
    "MonitorStateChangeEvent": "Monitor state changed",
    "MonitorDeleteEvent": "Monitor deleted",
}


@dataclass(frozen=True)
class Event:
    """One event ready for the outbox: `payload` is the whole TMF688 envelope."""

    event_id: str
    event_type: str
    correlation_id: str
    resource_type: str
    resource_id: str
    at: datetime
    payload: dict[str, Any]


def build(
    event_type: str,
    resource: dict[str, Any],
    *,
    correlation_id: str,
    at: datetime,
    field_paths: list[str] | None = None,
    event_id: str | None = None,
) -> Event:
    """An event about `resource` as it stood after the change (before it, for a delete). `event_id`: a uuid4
    made by the caller (bulk import draws many at once), else a new one."""
    resource_type = "service" if event_type.startswith("Service") else "monitor"
    event_id = event_id or str(uuid.uuid4())
    when = at.isoformat().replace("+00:00", "Z")
    rid = str(resource.get("id"))
    envelope: dict[str, Any] = {
        "@type": event_type,
        "eventId": event_id,
        "eventTime": when,
        "eventType": event_type,
        "correlationId": correlation_id,
        "domain": DOMAIN,
        "title": _TITLES[event_type],
        "description": f"{_TITLES[event_type]}: {resource_type} {rid}"
        + (f" is now {resource.get('state')}" if event_type.endswith("StateChangeEvent") else ""),
        "priority": "Normal",
        "timeOcurred": when,
        "timeOccurred": when,
        "event": {resource_type: resource},
    }
    if event_type.endswith("AttributeValueChangeEvent"):
        envelope["fieldPath"] = ",".join(field_paths or [])
    return Event(event_id, event_type, correlation_id, resource_type, rid, at, envelope)


def changed_attributes(ops: list[dict[str, Any]]) -> list[str]:
    """First-level attribute names an RFC 6902 diff touches, in order, without duplicates."""
    names: list[str] = []
    for op in ops:
        parts = str(op.get("path", "")).split("/")
        name = parts[1].replace("~1", "/").replace("~0", "~") if len(parts) > 1 else ""
        if name and name not in names:
            names.append(name)
    return names
