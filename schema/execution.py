"""The execution context of every operation: Strawberry's, with plain fields completed on a fast path, and
graphql-core's sub-field memo kept per operation and per subscription event.

Plain fields. Most of what a tree query returns are plain attributes (TMF attributes are data, see
schema.convert). `execute_fields` completes them without graphql-core's per-field machinery (schema.plain),
and leaves every other field, and any plain field whose value is not as its type says, to graphql-core's own
`execute_field`, which reports errors exactly as before. Which fields of a selection are plain is worked out
once per selection (memoised like graphql-core's sub-fields), and for a document the schema keeps
(schema.prepared) once for every operation on it: the plan is kept with the document, keyed by what it depends
on (`_selection_key`). With graphql-core middleware (a schema extension with a `resolve` hook) every field
takes graphql-core's path, so that the middleware sees it.

The memo. graphql-core 3.3 memoises collected sub-fields per executor, keyed by the identity of a list built
anew for each operation. A subscription's per-event executor is a shallow copy of the subscription's, sharing
its memo, which then grew by every event delivered (found by `bench/soak.py`: RSS climbing with 50
subscribers). Each event's executor gets memos of its own, which end with the event.
"""

from __future__ import annotations

from typing import Any

from graphql import Undefined
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.plain import Plan, from_its_document, plan_selection, value
from schema.prepared import Prepared


def _selection_key(parent_type: Any, fast: bool, directives: tuple[Any, ...], grouped_field_set: Any) -> Any:
    """What a selection's plan depends on, for a kept document (schema.prepared): the parent type, the nodes
    of each field (the document's own, alive as long as it is kept), the values of the variables its
    directives read. None (not kept) for a field deferred (@defer) or read through fragment arguments
    (graphql-core's experimental fragment variables): their plans are the operation's own."""
    fields = []
    for name, details in grouped_field_set.items():
        for entry in details:
            if entry.defer_usage is not None or entry.fragment_variable_values is not None:
                return None
        fields.append((name, *(id(entry.node) for entry in details)))
    return parent_type, fast, directives, tuple(fields)


class BoundedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[Any, int], tuple[Any, Plan]] = {}
        documents = getattr(getattr(self.schema, "_strawberry_schema", None), "prepared", None)
        self._kept: Prepared | None = documents.of_operation(self.operation) if documents is not None else None
        self._directives: tuple[Any, ...] = ()
        if self._kept is not None:
            values = self.variable_values.coerced
            self._directives = tuple(values.get(name) for name in self._kept.directive_variables)

    def build_per_event_executor(self, payload: Any) -> Any:
        executor: Any = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._plans = {}
        return executor

    def plan(self, parent_type: Any, grouped_field_set: Any) -> Plan:
        """Each field of this selection of `parent_type`, with how to complete it (schema.plain)."""
        key = (parent_type, id(grouped_field_set))
        cached = self._plans.get(key)
        if cached is not None:
            return cached[1]
        fast = self.middleware_manager is None or not self.middleware_manager.middlewares
        kept, kept_key = self._kept, None
        if kept is not None:
            kept_key = _selection_key(parent_type, fast, self._directives, grouped_field_set)
            known: Plan | None = kept.plan(kept_key) if kept_key is not None else None
            if known is not None:
                self._plans[key] = (grouped_field_set, known)
                return known
        plan = plan_selection(self, parent_type, grouped_field_set, fast)
        self._plans[key] = (grouped_field_set, plan)  # the set kept alive: its id stays its own
        if kept is not None and kept_key is not None:
            kept.keep(kept_key, plan)
        return plan

    def execute_fields(
        self, parent_type: Any, source_value: Any, path: Any, grouped_field_set: Any, position_context: Any
    ) -> Any:
        """graphql-core's `execute_fields`, with plain fields completed on the fast path."""
        plan = self.plan(parent_type, grouped_field_set)
        if plan.whole is not None:
            whole = from_its_document(plan, source_value)
            if whole is not None:
                return whole
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, kind in plan.steps:
                if kind is not None:
                    try:
                        results[response_name] = value(kind, source_value)
                        continue
                    except Exception:  # graphql-core executes it again below, and reports the error
                        pass
                result = self.execute_field(
                    parent_type, source_value, field_details_list, Path(path, response_name, parent_type.name),
                    position_context,
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:  # as graphql-core: settle what other fields started, they may fail too
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[field] for field in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()
