"""resolvers.rules.matching: filters evaluated in Python with the semantics of the SQL compiler."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.api import Resolvers
from resolvers.context import RequestContext
from resolvers.rules.errors import InvalidQuery
from resolvers.rules.matching import matches, parse_event_query
from resolvers.rules.tmf_query import parse
from store.query_form import Condition

EVENT = {
    "eventId": "e-1",
    "eventType": "ServiceStateChangeEvent",
    "eventTime": "2024-05-01T10:00:00.123Z",
    "correlationId": "c-1",
    "event": {
        "service": {
            "id": "s-1",
            "state": "active",
            "isBundle": True,
            "relatedParty": [{"id": "42", "role": "owner"}, {"id": "7", "role": "user"}],
            "serviceCharacteristic": [
                {"name": "speed", "value": 100},
                {"name": "tags", "value": ["a", "b"]},
                {"name": "since", "value": "2024-01-01T00:00:00+02:00"},
            ],
            "note": None,
        }
    },
}


def q(text: str) -> tuple[Condition, ...]:
    return parse_event_query(text)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("eventType=ServiceStateChangeEvent", True),
        ("eventType=ServiceCreateEvent", False),
        ("eventType=ServiceCreateEvent,ServiceStateChangeEvent", True),  # values OR
        ("eventType=ServiceCreateEvent;ServiceStateChangeEvent", True),
        ("eventType=ServiceCreateEvent&eventType=ServiceStateChangeEvent", True),
        ("eventType=ServiceStateChangeEvent&event.service.state=active", True),  # conditions AND
        ("eventType=ServiceStateChangeEvent&event.service.state=inactive", False),
        ("event.service.relatedParty.id=7", True),  # arrays looked through
        ("event.service.relatedParty.role=admin", False),
        ("event.service.serviceCharacteristic.value=b", True),  # array of scalars looked through
        ("event.service.serviceCharacteristic.value.gt=99", True),  # numbers by the value's form
        ("event.service.serviceCharacteristic.value.gt=100", False),
        ("event.service.serviceCharacteristic.value=100.0", True),
        ("event.service.isBundle=true", True),
        ("event.service.note=null", True),
        ("eventTime.gt=2024-05-01T09:59:59Z", True),  # instants compared as instants
        ("eventTime.lt=2024-05-01T12:00:00+03:00", False),  # 09:00Z; a '+' sent unencoded is mended
        ("eventTime.lt=2024-05-01T12:00:00%2B01:00", True),  # 11:00Z
        ("eventTime=2024-05-01T12:00:00.123+02:00", True),
        ("event.service.serviceCharacteristic.value.lt=2023-12-31T23:00:00Z", True),
        ("event.service.id*=^s-", True),  # regex
        ("event.service.id=~^x", False),
        ("event.service.state.gte=active", True),  # text compared as text
        ("event.service.state.lt=active", False),
        ("event.service.missing=anything", False),
        ("event.service=active", False),  # an object is not a scalar leaf
        ("", True),
    ],
)
def test_event_queries(query: str, expected: bool) -> None:
    assert matches(q(query), EVENT) is expected


def test_query_checks_name_the_fault() -> None:
    for text, mentions in [
        ("state=active", "state"),
        ("eventType=X&limit=3", "limit"),
        ("eventType=X&fields=eventId", "fields"),
        ("event.service.name*=[", "regular expression"),
        ("=x", "without a name"),
    ]:
        with pytest.raises(InvalidQuery) as raised:
            parse_event_query(text)
        assert mentions in str(raised.value)
    assert parse_event_query("?eventType=X") == (Condition(("eventType",), "eq", ("X",)),)


# ---- parity with the SQL compiler ------------------------------------------------------------------------

DOCS: list[dict[str, Any]] = [
    {"id": "p1", "state": "active", "name": "alpha", "description": "first of many",
     "startDate": "2024-01-01T00:00:00Z",
     "relatedParty": [{"id": "42", "role": "owner"}],
     "serviceCharacteristic": [{"name": "speed", "value": 100}, {"name": "since", "value": "2024-03-01T00:00:00Z"}]},
    {"id": "p2", "state": "inactive", "name": "beta", "description": "second",
     "startDate": "2024-06-01T00:00:00+02:00",
     "relatedParty": [{"id": "7", "role": "user"}, {"id": "42", "role": "payer"}],
     "serviceCharacteristic": [{"name": "speed", "value": "250"}, {"name": "tags", "value": ["x", "y"]}]},
    {"id": "p3", "state": "designed", "name": "gamma",
     "serviceCharacteristic": [{"name": "speed", "value": 9.5}, {"name": "note", "value": "text 100"}]},
]
PARITY_QUERIES = [
    "state=active,inactive",
    "relatedParty.id=42",
    "relatedParty.id=42&relatedParty.role=user",
    "serviceCharacteristic.value=100",
    "serviceCharacteristic.value.gt=50",
    "serviceCharacteristic.value.lte=100",
    "serviceCharacteristic.value.gt=2024-02-01T00:00:00Z",
    "serviceCharacteristic.value=x;250",
    "serviceCharacteristic.name=tags&serviceCharacteristic.value=y",
    "description*=^f",
    "description=~sec",
    "startDate.gte=2024-05-31T23:00:00Z",
    "name.gt=alpha",
    "relatedParty.role.lt=p",
]


@pytest.mark.parametrize("query", PARITY_QUERIES)
async def test_same_answers_as_the_sql_compiler(resolvers: Resolvers, query: str) -> None:
    ctx = RequestContext()
    for doc in DOCS:
        created = await resolvers.services.create(ctx, {**doc, "serviceSpecification": {"name": "spec"}})
        # The state is the as-is: it is stored once the engine's driver has reached it.
        assert created.monitor is not None
        monitor = await resolvers.engine.wait(ctx, str(created.monitor["id"]), 30)
        assert monitor is not None and monitor["state"] == "Completed", monitor
        assert (await resolvers.services.get(ctx, doc["id"])).service["state"] == doc["state"]
    conditions = parse(query).conditions
    by_sql = {s["id"] for s in (await resolvers.services.search(ctx, parse(query))).items}
    by_python = {d["id"] for d in DOCS if matches(conditions, {k: v for k, v in d.items() if k != "id"})}
    assert by_sql == by_python
