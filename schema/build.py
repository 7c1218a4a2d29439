"""The schema: Query, Mutation and Subscription roots, and the protections every document passes before it runs.

Hub listeners (schema/hubs.py) are merged into the Query and Mutation roots, operator actions on held work
(schema/operator.py) into the Mutation root, and Relay's node lookups (schema/node.py) into Query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, partial

import strawberry
from graphql import GraphQLError, ValidationRule
from graphql.language import FieldNode
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.extensions.query_depth_limiter import IgnoreContext
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.access import ScopeCheck
from schema.admitted import AdmittedSchema
from schema.batch import BatchMutation
from schema.errors import should_mask
from schema.execution import BoundedExecutionContext
from schema.hubs import HubMutation, HubQuery
from schema.mutation import Mutation
from schema.node import NodeQuery
from schema.observed import OperationMetrics
from schema.operator import OperatorMutation
from schema.query import Query
from schema.scalars import SCALAR_MAP
from schema.subscription import Subscription


@dataclass(frozen=True)
class Limits:
    """What one document may ask for. The defaults match app.settings.Settings."""

    max_depth: int = 15
    max_aliases: int = 50
    max_tokens: int = 10_000
    introspection: bool = True  # False: `__schema` and `__type` refused (production, unless allowed)


class NoIntrospection(ValidationRule):
    """Refuses `__schema` and `__type` (not `__typename`), naming the setting that allows them."""

    def enter_field(self, node: FieldNode, *_args: object) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError(
                f"Introspection is disabled on this server ({node.name.value}); "
                "TMF640_GRAPHQL_INTROSPECTION=true allows it", node, extensions={"code": "IntrospectionDisabled"}))


def _introspection(context: IgnoreContext) -> bool:
    # GraphiQL's introspection query nests `ofType` deeply; it is bounded by the schema, not by the client.
    return context.field_name.startswith("__")


def build_schema(limits: Limits | None = None) -> strawberry.Schema:
    """The executable schema with depth, alias and token limits and masking of unexpected errors.

    Built once per set of limits (a schema holds no request state: extensions are made afresh per operation),
    so creating another app, as each test does, does not build it again.
    """
    return _build(limits or Limits())


@cache
def _build(limits: Limits) -> strawberry.Schema:
    return AdmittedSchema(
        query=merge_types("Query", (Query, HubQuery, NodeQuery)),
        mutation=merge_types("Mutation", (Mutation, HubMutation, OperatorMutation, BatchMutation)),
        subscription=Subscription,
        execution_context_class=BoundedExecutionContext,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        # Factories, not instances: Strawberry builds each extension afresh for every operation.
        extensions=[
            ScopeCheck,
            partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
            partial(QueryDepthLimiter, max_depth=limits.max_depth, should_ignore=_introspection),
            partial(MaxAliasesLimiter, max_alias_count=limits.max_aliases),
            partial(MaskErrors, should_mask_error=should_mask),
            *([] if limits.introspection else [partial(AddValidationRules, [NoIntrospection])]),
            OperationMetrics,
        ],
    )
