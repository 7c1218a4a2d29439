"""The schema class that keeps large documents off the event loop and logs only server faults."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError, parse
from strawberry.exceptions import MissingQueryError
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import validate_document
from strawberry.types.execution import ExecutionContext, PreExecutionError

from schema import admission
from schema.errors import should_mask
from schema.prepared import PreparedDocuments

log = logging.getLogger("tmf640.graphql")


class AdmittedSchema(strawberry.Schema):
    """Strawberry's schema with the cost of a large document kept off the event loop, and quiet client errors.

    - A document is parsed, checked for its shape (admission.shape_error: selections per set and in all, which
      bound validation's cost) and validated, with the same extension hooks around each step as Strawberry's own
      path; one of `admission.OFFLOAD_BYTES` or more in the admission worker thread (one at a time), not on the
      event loop. The byte cap (schema.asgi) has already bounded its size, the token limit bounds its parse.
    - `process_errors` logs server faults (errors the client sees masked) with their traceback, and nothing
      else: a client's mistake (syntax, validation, a typed query error such as `first: -1`) is the client's,
      reported in its answer and counted in the operation's log line (schema.observed), never a traceback and
      never the document's text.
    - A document that parsed, passed the shape check and validated without error is kept (schema.prepared):
      the same text again is neither parsed nor validated, and its execution plans are kept with it. The
      extension hooks around both steps still run (the caller's scopes are checked on every operation).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared = PreparedDocuments()

    async def _prepare_operation_async(
        self, context: ExecutionContext, extensions_runner: SchemaExtensionsRunner
    ) -> PreExecutionError | None:
        query = context.query
        if context.graphql_document is not None:
            return await super()._prepare_operation_async(context, extensions_runner)
        if not query:
            raise MissingQueryError
        kept = self.prepared.get(query)
        large = len(query) >= admission.OFFLOAD_BYTES
        async with extensions_runner.parsing():
            if kept is not None:
                document = kept.document
            else:
                try:
                    if large:
                        document = await admission.off_loop(parse, query, **context.parse_options)
                    else:
                        document = parse(query, **context.parse_options)
                except GraphQLError as error:
                    context.pre_execution_errors = [error]
                    return PreExecutionError(data=None, errors=[error])
                refusal = admission.shape_error(document)
                if refusal is not None:
                    context.pre_execution_errors = [refusal]
                    return PreExecutionError(data=None, errors=[refusal])
            context.graphql_document = document
        try:
            operation_type = context.operation_type
        except RuntimeError as error:
            raise CannotGetOperationTypeError(context.operation_name) from error
        if operation_type not in context.allowed_operations:
            raise InvalidOperationTypeError(operation_type)
        async with extensions_runner.validation():
            if context.validation_rules and context.pre_execution_errors is None and kept is None:
                rules = tuple(context.validation_rules)
                if large:
                    errors = await admission.off_loop(validate_document, self._schema, document, rules)
                else:
                    errors = validate_document(self._schema, document, rules)
                context.pre_execution_errors = errors
                if not errors:
                    self.prepared.add(query, document)
            if context.pre_execution_errors:
                return PreExecutionError(data=None, errors=context.pre_execution_errors)
        return None

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            if should_mask(error):
                log.error("unexpected error in %s: %s", error.path or "the operation", error.message,
                          exc_info=error.original_error,
                          extra={"event": "graphql_fault", "path": error.path})
