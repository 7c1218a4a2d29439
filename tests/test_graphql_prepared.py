"""Documents kept once valid, and their plans (schema.prepared): the same text again is neither parsed, validated
nor planned, and answers exactly as the first time, or as a fresh execution would with other variables."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from graphql import parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import schema.admitted
import schema.plain
from resolvers.api import Resolvers
from resolvers.bulk import BulkImport, Item
from resolvers.context import Caller, RequestContext
from schema.build import build_schema
from schema.context import GraphQLContext
from schema.prepared import PreparedDocuments, directive_variables
from tests.documents import bundle_tree


def fresh(document: str) -> str:
    """`document` as a text no earlier test sent (the schema, and the documents it keeps, live for the session)."""
    return f"# {uuid.uuid4()}\n{document}"


def test_directive_variables_are_those_any_directive_reads() -> None:
    document = parse("""query Q($a: Boolean!, $b: Boolean!, $c: Boolean!, $id: ID!) {
        service(id: $id) { name @skip(if: $a) ...F @include(if: $b) feature { id @include(if: $a) } } }
        fragment F on Service { id @skip(if: $c) }""")
    assert directive_variables(document) == ("a", "b", "c")
    assert directive_variables(parse("query Q($id: ID!) { service(id: $id) { name } }")) == ()


def test_kept_documents_are_bounded_by_count_and_by_size() -> None:
    kept = PreparedDocuments(max_entries=2, max_chars=100, max_document_chars=60)
    texts = [f"{{ a{i}: __typename }}" for i in range(3)]  # 18 characters each
    for text in texts:
        assert kept.add(text, parse(text)) is not None
    assert len(kept) == 2 and kept.get(texts[0]) is None  # the least recently used went first
    assert kept.get(texts[1]) is not None  # ... and now texts[2] is the least recently used
    assert kept.add("{ b: __typename }", parse("{ b: __typename }")) is not None
    assert kept.get(texts[2]) is None and kept.get(texts[1]) is not None
    long = "{ " + " ".join(f"a{i}: __typename" for i in range(5)) + " }"  # 72 characters
    assert kept.add(long, parse(long)) is None and kept.get(long) is None
    big = PreparedDocuments(max_entries=10, max_chars=50, max_document_chars=60)
    for text in texts:
        big.add(text, parse(text))
    assert len(big) == 2 and big.chars == 36  # three would be 54 characters, over 50


def test_an_evicted_document_is_no_longer_found_by_its_operation() -> None:
    kept = PreparedDocuments(max_entries=1)
    first, second = parse("query A { __typename }"), parse("query B { __typename }")
    kept.add("query A { __typename }", first)
    assert kept.of_operation(first.definitions[0]) is not None  # type: ignore[arg-type]
    kept.add("query B { __typename }", second)
    assert kept.of_operation(first.definitions[0]) is None  # type: ignore[arg-type]
    assert kept.of_operation(second.definitions[0]) is not None  # type: ignore[arg-type]


def test_plans_per_document_are_bounded() -> None:
    kept = PreparedDocuments(max_plans=2)
    prepared = kept.add("{ __typename }", parse("{ __typename }"))
    assert prepared is not None
    for i in range(3):
        prepared.keep(i, [i])
    assert (prepared.plan(0), prepared.plan(1), prepared.plan(2)) == ([0], [1], None)


def _context(resolvers: Resolvers, scopes: frozenset[str] | None = None) -> GraphQLContext:
    caller = Caller() if scopes is None else Caller(identity="t", scopes=scopes)
    return GraphQLContext(resolvers=resolvers, request_context=RequestContext(base_url="http://testserver",
                                                                              caller=caller))


async def _import(resolvers: Resolvers) -> None:
    outcome = await BulkImport(resolvers.services, emit_events=False).store_batch(
        RequestContext(base_url="http://testserver"), [Item(1, bundle_tree("p", 2, 2))], strict=True)
    assert not outcome.bad, outcome.bad


async def _answer(schema: Any, query: str, variables: dict[str, Any], resolvers: Resolvers) -> Any:
    result = await schema.execute(query, variable_values=variables, context_value=_context(resolvers))
    return json.loads(json.dumps({"data": result.data, "errors": [e.formatted for e in result.errors or []]}))


TREE = """query T($id: ID!, $notes: Boolean!, $brief: Boolean!) {
  service(id: $id) { id name note @include(if: $notes) { id text }
    descendants(maxDepth: 3) { depth service { id ...Parts } } }
}
fragment Parts on Service {
  name @skip(if: $brief) feature { id name @skip(if: $brief) featureCharacteristic { name value } }
  note @include(if: $notes) { id author text @skip(if: $brief) } serviceCharacteristic { name value }
}"""


async def test_the_same_document_again_is_not_parsed_validated_or_planned(
    resolvers: Resolvers, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _import(resolvers)
    server = build_schema()
    calls: list[str] = []
    for module, name in ((schema.admitted, "parse"), (schema.admitted, "validate_document"),
                         (schema.plain, "plan_field")):
        real = getattr(module, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    query, variables = fresh(TREE), {"id": "p", "notes": True, "brief": False}
    first = await _answer(server, query, variables, resolvers)
    assert first["errors"] == [] and len(first["data"]["service"]["descendants"]) == 2 + 4
    assert calls[:2] == ["parse", "validate_document"] and "plan_field" in calls
    calls.clear()
    assert await _answer(server, query, variables, resolvers) == first
    assert calls == []


async def test_kept_plans_answer_as_a_fresh_execution_whatever_the_directives_variables(
    resolvers: Resolvers,
) -> None:
    """@skip and @include decide what nested selections hold: each combination of their variables, in any order
    and again, answers exactly as Strawberry's own execution of the same document."""
    await _import(resolvers)
    server = build_schema()
    reference = copy.copy(server)  # graphql-core's execution: no plans, nothing kept from one to the next
    reference.execution_context_class = StrawberryGraphQLCoreExecutionContext
    query = fresh(TREE)
    answers = set()
    for notes, brief in ((True, False), (False, True), (True, True), (False, False), (True, False), (False, True)):
        variables = {"id": "p", "notes": notes, "brief": brief}
        kept = await _answer(server, query, variables, resolvers)
        assert kept["errors"] == []
        assert kept == await _answer(reference, fresh(TREE), variables, resolvers), variables
        answers.add(json.dumps(kept, sort_keys=True))
    assert len(answers) == 4  # the variables changed the answers, and the kept plans followed them


async def test_a_kept_document_still_needs_the_caller_s_scopes(resolvers: Resolvers) -> None:
    server = build_schema()
    query = fresh("query { services { totalCount } }")
    allowed = await server.execute(query, context_value=_context(resolvers, frozenset({"read"})))
    assert not allowed.errors and server.prepared.get(query) is not None  # type: ignore[attr-defined]
    refused = await server.execute(query, context_value=_context(resolvers, frozenset()))
    assert refused.data is None
    assert [e.extensions.get("code") for e in refused.errors or [] if e.extensions] == ["FORBIDDEN"]


async def test_an_invalid_document_is_not_kept(resolvers: Resolvers) -> None:
    server = build_schema()
    query = fresh("query { services { noSuchField } }")
    for _ in range(2):
        result = await server.execute(query, context_value=_context(resolvers))
        assert result.errors and "noSuchField" in result.errors[0].message
    assert server.prepared.get(query) is None  # type: ignore[attr-defined]
