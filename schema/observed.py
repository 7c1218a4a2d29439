"""Counts GraphQL operations by name, type and outcome (resolvers.telemetry), and logs each in one line.

A document refused before it runs (syntax, token, depth or alias limit, validation, introspection off, scope)
is logged as an admission refusal (schema.admission.refused: code, size, hash, client; never its text).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from resolvers import telemetry
from schema import admission

log = logging.getLogger("tmf640.graphql")
MAX_NAME = 64  # operation names come from clients: bounded, so that series stay few


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        name = (ctx.operation_name or "anonymous")[:MAX_NAME]
        try:
            kind = ctx.operation_type.value
        except Exception:  # a document that did not parse has no type
            kind = "unknown"
        errors = list(ctx.pre_execution_errors or [])
        result = ctx.result
        if result is not None and getattr(result, "errors", None):
            errors.extend(result.errors or [])
        outcome = "error" if errors else "ok"
        telemetry.GRAPHQL_OPERATIONS.labels(operation=name, type=kind, outcome=outcome).inc()
        if errors and (result is None or result.data is None) and all(e.path is None for e in errors):
            request = getattr(ctx.context, "request", None)
            code = (errors[0].extensions or {}).get("code") or (
                "InvalidDocument" if ctx.graphql_document is None else "ValidationFailed")
            admission.refused(str(code), client=admission.client_of(getattr(request, "scope", None)),
                              document=ctx.query, operation=name, errors=[e.message[:200] for e in errors[:3]])
            return
        log.info("graphql %s %s", kind, name, extra={
            "event": "graphql", "operation": name, "operation_type": kind, "outcome": outcome,
            **({"errors": [e.message for e in errors[:5]]} if errors else {})})
