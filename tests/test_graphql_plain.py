"""TMF attributes are data: a whole tree with every typed attribute equals the stored documents as REST renders
them, and the fast path for plain fields (schema.plain) answers exactly as graphql-core's own execution."""

from __future__ import annotations

import copy
import enum
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.api import Resolvers
from resolvers.bulk import BulkImport, Item
from resolvers.context import DEFAULT_TENANT, RequestContext
from schema import plain
from schema.build import build_schema
from schema.context import GraphQLContext
from schema.execution import BoundedExecutionContext
from store.query_form import ListQuery
from tests.documents import bundle_tree, full_service
from tests.graphql import SchemaExecutor, assert_typed_matches, ok, tmf_selection

EVERY = tmf_selection("Service", ref_depth=2)
TREE = f"""query Tree($id: ID!) {{
  service(id: $id) {{ id etag document {EVERY}
    descendants(maxDepth: 5) {{ depth parentId service {{ id etag document {EVERY} }} }} }}
}}"""


async def _import(resolvers: Resolvers, body: dict[str, Any]) -> None:
    outcome = await BulkImport(resolvers.services, emit_events=False).store_batch(
        RequestContext(base_url="http://testserver"), [Item(1, body)], strict=True)
    assert not outcome.bad, outcome.bad


async def test_every_node_of_a_tree_answers_its_stored_document(
    resolvers: Resolvers, schema_executor: SchemaExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _import(resolvers, bundle_tree("t", 3, 3))
    executed: list[str] = []
    original = BoundedExecutionContext.execute_field

    def counted(self: Any, parent_type: Any, source: Any, details: Any, *args: Any) -> Any:
        executed.append(f"{parent_type.name}.{details[0].node.name.value}")
        return original(self, parent_type, source, details, *args)

    monkeypatch.setattr(BoundedExecutionContext, "execute_field", counted)
    data = await ok(schema_executor, TREE, {"id": "t"})
    # Only the fields with resolvers run through graphql-core's execute_field; TMF attributes are data.
    assert sorted(executed) == ["Query.service", "Service.descendants"]
    nodes = [data["service"], *(n["service"] for n in data["service"]["descendants"])]
    page = await resolvers.services.search(RequestContext(base_url="http://testserver"), ListQuery(limit=100))
    rest = {str(doc["id"]): doc for doc in page.items}  # the REST list: every service as REST renders it
    assert sorted(n["id"] for n in nodes) == sorted(rest) and len(nodes) == 1 + 3 + 9
    for node in nodes:
        assert node["document"] == rest[node["id"]]
        typed = {k: v for k, v in node.items() if k not in ("document", "etag")}
        assert_typed_matches(typed, rest[node["id"]], node["id"])
        assert node["extensions"] == {"vcpeModel": {"vendor": "acme", "throughput": [1, 2.5]}}
    member = next(n for n in nodes if n["id"] == "t-1")
    assert [m["id"] for m in member["supportingService"]] == ["t-1-0", "t-1-1", "t-1-2"]
    assert member["supportingService"][0]["name"] == "leaf 1.0"  # by value: the member's attributes, live
    assert member["serviceRelationship"][0]["service"]["id"] == "t-0"


def _askew(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with values of the wrong JSON type where TMF types them, null items and non-objects in lists."""
    bad = copy.deepcopy(doc)
    bad.update(
        name=7, isBundle="yes", startDate="not a date", endDate=20250101, state="sleeping", category=None,
        note=[None, "text", {"id": 1, "date": "2025-13-01T00:00:00Z", "text": ["a"]}, {"author": "ops"}],
        feature={"id": "f1"}, relatedParty="party-42", serviceSpecification=["spec"],
        serviceCharacteristic=[{"name": "x", "value": None}, {"name": None, "value": {"deep": [None]}}, 5],
        serviceOrderItem=[{"itemAction": "replace"}, {"itemAction": "add", "itemId": 3}],
        supportingService=[{"id": "elsewhere-1", "name": False}, None, {"href": "http://x/service/elsewhere-2"}],
        serviceRelationship=[{"relationshipType": 1, "service": "t-0"}, {"service": {"id": "t-0", "state": 4}}],
    )
    bad["@type"] = ["vCPE"]
    return bad


async def _insert(resolvers: Resolvers, id: str, doc: dict[str, Any]) -> None:
    """Straight into the store, past the checks a write makes: documents stored before a rule existed."""
    async with resolvers.store.write(DEFAULT_TENANT) as uow:  # no links: its references stay references
        await uow.services.insert(id, doc, [], datetime.now(UTC))


async def _both(resolvers: Resolvers, query: str, variables: dict[str, Any]) -> tuple[Any, Any]:
    """The answer with this server's execution (fast path) and with Strawberry's own, as JSON."""
    fast = build_schema()
    plain = copy.copy(fast)
    plain.execution_context_class = StrawberryGraphQLCoreExecutionContext
    out = []
    for schema in (fast, plain):
        context = GraphQLContext(resolvers=resolvers, request_context=RequestContext(base_url="http://testserver"))
        result = await schema.execute(query, variable_values=variables, context_value=context)
        out.append(json.loads(json.dumps({"data": result.data, "errors": [e.formatted for e in result.errors or []]})))
    return out[0], out[1]


async def test_values_of_the_wrong_type_answer_as_graphql_core_would(resolvers: Resolvers) -> None:
    await _insert(resolvers, "askew", _askew(full_service("askew")))
    await _insert(resolvers, "fine", full_service("fine"))
    query = f"""{{ askew: service(id: "askew") {{ id document {EVERY} }}
                   fine: service(id: "fine") {{ id document {EVERY} }}
                   services {{ edges {{ node {{ id name state startDate __typename
                                       serviceSpecification {{ id __typename }} }} }} }} }}"""
    fast, plain = await _both(resolvers, query, {})
    assert fast == plain
    askew = fast["data"]["askew"]
    assert (askew["name"], askew["isBundle"], askew["startDate"], askew["state"], askew["type"]) == (None,) * 5
    assert askew["note"] == [{"type": None, "baseType": None, "schemaLocation": None, "extensions": None,
                              "id": None, "author": None, "date": None, "text": None},
                             {"type": None, "baseType": None, "schemaLocation": None, "extensions": None,
                              "id": None, "author": "ops", "date": None, "text": None}]
    assert askew["feature"] is None and askew["relatedParty"] is None and askew["serviceSpecification"] is None
    assert [i["itemAction"] for i in askew["serviceOrderItem"]] == [None, "add"]
    assert [s["id"] for s in askew["supportingService"]] == ["elsewhere-1", None]
    assert askew["serviceRelationship"][0]["service"] is None
    assert askew["serviceRelationship"][1]["service"]["state"] is None


async def test_services_listed_answer_from_their_documents_as_graphql_core_would(
    resolvers: Resolvers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service given by a resolver (here a page's nodes) whose selection holds TMF attributes only is answered
    straight from its document (schema.plain `_object`), wrong-typed values included, and equals graphql-core's
    answer."""
    await _insert(resolvers, "askew", _askew(full_service("askew")))
    await _insert(resolvers, "fine", full_service("fine"))
    per_field: list[str] = []
    original = plain.value

    def counted(kind: Any, source: Any) -> Any:
        if type(source).__name__ == "Service":
            per_field.append(kind.name)
        return original(kind, source)

    monkeypatch.setattr(plain, "value", counted)
    query = f"{{ services(sort: [{{field: id}}]) {{ edges {{ node {{ {EVERY} }} }} }} }}"
    fast, slow = await _both(resolvers, query, {})
    assert fast == slow and not fast["errors"]
    nodes = [edge["node"] for edge in fast["data"]["services"]["edges"]]
    assert [n["id"] for n in nodes] == ["askew", "fine"] and nodes[0]["state"] is None and nodes[1]["state"]
    assert per_field == []  # no service was answered field by field


def test_a_whole_answer_from_the_document_only_for_an_object_as_it_was_read() -> None:
    """`from_its_document` answers from the document only for an object of exactly the type's class, that passes
    the type's check, whose selected attributes were not read (converted, perhaps changed) yet; else None, and
    the fields are completed one by one."""

    class Doc:
        def __init__(self, **values: Any) -> None:
            self.__dict__.update(values)

    def whole(doc: dict[str, Any]) -> dict[str, Any]:
        if doc["name"] is None:
            raise plain.Slow
        return {"name": doc["name"]}

    plan = plain.Plan([], whole, Doc, frozenset({"name"}))
    assert plain.from_its_document(plan, Doc(tmf={"name": "a"})) == {"name": "a"}
    assert plain.from_its_document(plan, Doc(tmf={"name": "a"}, name="changed")) is None  # read already
    assert plain.from_its_document(plan, Doc(tmf={"name": None})) is None  # graphql-core reports it
    assert plain.from_its_document(plan, Doc()) is None  # no document
    assert plain.from_its_document(plan, type("Other", (Doc,), {})(tmf={"name": "a"})) is None
    refused = plan._replace(is_type_of=lambda obj, info: False)
    assert plain.from_its_document(refused, Doc(tmf={"name": "a"})) is None


@strawberry.enum
class Colour(enum.Enum):
    red = "red"


@strawberry.type
class Thing:
    must: str
    flag: bool | None
    colour: Colour | None
    things: list[Thing | None] | None = None


@strawberry.type
class ThingQuery:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        odd: Any = Thing(must="b", flag="yes", colour="blue")  # type: ignore[arg-type]
        broken: Any = Thing(must=None, flag=True, colour=Colour.red)  # type: ignore[arg-type]
        return [Thing(must="a", flag=True, colour=Colour.red, things=[odd, broken, None]), odd, broken]


async def test_errors_in_plain_fields_are_graphql_cores() -> None:
    query = "{ things { must flag colour things { must flag colour } } }"
    answers = []
    for context_class in (BoundedExecutionContext, StrawberryGraphQLCoreExecutionContext):
        result = await strawberry.Schema(ThingQuery, execution_context_class=context_class).execute(query)
        answers.append((result.data, [(e.message, e.path) for e in result.errors or []]))
    assert answers[0] == answers[1]
    data, errors = answers[0]
    odd = {"must": "b", "flag": None, "colour": None}
    assert data == {"things": [{"must": "a", "flag": True, "colour": "red", "things": [odd, None, None]},
                               {**odd, "things": None}, None]}
    assert sorted(str(path) for _, path in errors) == sorted(str(p) for p in [
        ["things", 0, "things", 0, "flag"], ["things", 0, "things", 0, "colour"], ["things", 0, "things", 1, "must"],
        ["things", 1, "flag"], ["things", 1, "colour"], ["things", 2, "must"]])
