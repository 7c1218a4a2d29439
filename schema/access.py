"""Who may run which GraphQL operation: the scope each root field needs, checked before anything runs.

Queries and subscriptions need `read`; mutations `write`; the hub's fields (queries and mutations) `admin`,
as on REST (app.edge). A root field missing from every list needs `admin` (a new field fails closed). An
operation the caller may not run is answered with one `FORBIDDEN` error and runs nothing; tenants are not
checked here but in the store (another tenant's resource is simply not found).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.language import DocumentNode, FragmentDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.utils.str_converters import to_camel_case

from resolvers.context import ADMIN, READ, SCOPES, WRITE
from schema.batch import BatchMutation
from schema.context import GraphQLContext
from schema.hubs import HubMutation, HubQuery
from schema.mutation import Mutation
from schema.node import NodeQuery
from schema.operator import OperatorMutation
from schema.query import Query
from schema.subscription import Subscription


def _names(cls: Any) -> set[str]:
    return {f.graphql_name or to_camel_case(f.python_name) for f in cls.__strawberry_definition__.fields}


ROOT_SCOPES: dict[str, dict[str, str]] = {
    "query": {**{name: READ for name in _names(Query)}, **{name: ADMIN for name in _names(HubQuery)},
              **{name: READ for name in _names(NodeQuery)},
              "__typename": READ, "__schema": READ, "__type": READ},
    "mutation": {**{name: WRITE for name in _names(Mutation)}, **{name: WRITE for name in _names(BatchMutation)},
                 **{name: ADMIN for name in _names(HubMutation)},
                 **{name: ADMIN for name in _names(OperatorMutation)},
                 "__typename": WRITE},
    "subscription": {**{name: READ for name in _names(Subscription)}, "__typename": READ},
}


def _root_fields(selection: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode],
                 seen: set[str] | None = None) -> Iterator[str]:
    seen = set() if seen is None else seen
    for node in selection.selections:
        if isinstance(node, FieldNode):
            yield node.name.value
        elif isinstance(node, InlineFragmentNode):
            yield from _root_fields(node.selection_set, fragments, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            seen.add(node.name.value)
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                yield from _root_fields(fragment.selection_set, fragments, seen)


def required_scopes(document: DocumentNode, operation_name: str | None) -> set[str]:
    """The scopes the chosen operation of `document` needs (empty when no operation is chosen)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        return set()  # graphql-core answers the ambiguity itself
    operation = chosen[0]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    kind = {OperationType.QUERY: "query", OperationType.MUTATION: "mutation",
            OperationType.SUBSCRIPTION: "subscription"}[operation.operation]
    table = ROOT_SCOPES[kind]
    return {table.get(name, ADMIN) for name in _root_fields(operation.selection_set, fragments)}


class ScopeCheck(SchemaExtension):
    """Refuses, before validation and execution, an operation whose root fields need a scope the caller lacks."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        context = ec.context
        if ec.graphql_document is not None and isinstance(context, GraphQLContext):
            caller = context.request_context.caller
            missing = sorted(s for s in required_scopes(ec.graphql_document, ec.operation_name)
                             if not caller.may(s))
            if missing:
                scope = max(missing, key=SCOPES.index)
                ec.pre_execution_errors = [
                    GraphQLError(f"this operation needs the {scope!r} scope", extensions={"code": "FORBIDDEN"})]
        yield
