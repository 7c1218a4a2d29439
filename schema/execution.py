"""The execution context of every operation: Strawberry's, with graphql-core's sub-field memo bounded.

graphql-core 3.3 memoises collected sub-fields per execution context, keyed by the identity of a list built
anew for every subscription event: a subscription, whose context lives as long as it does, grew that memo by
every event it delivered (found by `bench/soak.py`: RSS climbing with 50 subscribers). The memo is only a cache,
so it is emptied when it holds more than `MAX_MEMO` entries.
"""

from __future__ import annotations

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

MAX_MEMO = 64


class BoundedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def collect_subfields(self, return_type: Any, field_details_list: Any) -> Any:
        memo = getattr(self, "_relevant_sub_fields", None)
        if memo is not None and len(memo) > MAX_MEMO:
            memo.clear()
        return super().collect_subfields(return_type, field_details_list)
