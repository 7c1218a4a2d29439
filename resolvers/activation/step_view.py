"""How a recorded step is seen outside its execution: by its driver (a `Step`) and by the records it changes
(the request context a change is written under, the operation its revision names)."""

from __future__ import annotations

from resolvers.activation import progress
from resolvers.activation.drivers import Step
from resolvers.context import RequestContext
from store.activation_types import ActivationRow, StepRow


def driver_step(act: ActivationRow, step: StepRow) -> Step:
    """What the driver is sent: the to-be document, the as-is one, the states, the attempt and the ids."""
    return Step(
        id=step.id, activation_id=act.id, service_id=step.service_id, action=step.action or "",
        service={"id": step.service_id, **(step.after_doc or {})},
        before={"id": step.service_id, **(step.before_doc or {})}, from_state=step.from_state,
        to_state=step.to_state, attempt=step.attempts, correlation_id=act.correlation_id,
    )


def revision_operation(act: ActivationRow) -> str:
    """The operation a step's revision records: a create's or delete's driven change is a state change."""
    return {"create": "state", "delete": "state"}.get(act.operation, act.operation)


def record_context(act: ActivationRow, step: StepRow | None = None) -> RequestContext:
    """The context a change is recorded under: the request that last shaped the step (an amend), else
    the one that submitted the activation."""
    return progress.context_of(act, step.correlation_id if step is not None else None)
