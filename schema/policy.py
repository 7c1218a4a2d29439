"""The activation policy a write may choose: GraphQL's `policy` argument, REST's `X-Activation-Policy` header.

Both reach the same resolver parameter (`Services.create/patch/delete(policy=...)`); omitted, the server's
TMF640_ACTIVATION_POLICY applies.
"""

from __future__ import annotations

import enum

import strawberry


@strawberry.enum(description="What a failure does to the rest of the work (REST: X-Activation-Policy).")
class ActivationPolicy(enum.Enum):
    atomic = strawberry.enum_value("atomic", description="One failure compensates what already succeeded")
    partial = strawberry.enum_value("partial", description="What succeeded stays; failures are reported")


POLICY_DOC = "Activation policy of the work this write starts; omitted: the server's default"


def policy_value(policy: ActivationPolicy | None) -> str | None:
    return str(policy.value) if policy is not None else None
