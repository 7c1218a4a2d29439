"""What unfinished work will leave behind: the predicted document of a service, and one service's intent.

A write that arrives while work is under way is planned against the *predicted* document (what the service
will be once that work is done, or once it is undone when it is being cancelled); the runner later rebases
each step on the as-is document of the moment it starts (intents.resolve).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from resolvers.rules import intents
from resolvers.rules.errors import Conflict
from resolvers.rules.intents import without_state
from store.activation_types import ActivationRow, StepRow

Chain = list[tuple[ActivationRow, StepRow]]


@dataclass
class Target:
    """One service's intent inside a plan, against its predicted document."""

    service_id: str
    predicted: dict[str, Any]
    to_state: str | None
    changes: list[dict[str, Any]] = field(default_factory=list)
    by_value: list[str] = field(default_factory=list)

    @property
    def from_state(self) -> str | None:
        return self.predicted.get("state")

    def to_be(self) -> dict[str, Any]:
        doc = intents.apply_changes(without_state(self.predicted), self.changes)
        state = self.to_state or self.from_state
        if state is not None:
            doc["state"] = state
        return doc

    @property
    def has_intent(self) -> bool:
        return bool(self.changes) or (self.to_state is not None and self.to_state != self.from_state)

    @property
    def action(self) -> str | None:
        return intents.needed_action(
            self.from_state, self.to_state, without_state(self.predicted), without_state(self.to_be())
        )


def being_undone(act: ActivationRow) -> bool:
    """The activation is being undone (cancelled, or compensating after a failure)."""
    return act.cancel_requested or act.status == "compensating"


def predict(as_is: dict[str, Any], chain: Chain) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the document after all unfinished work, the document before it), as far as can be told now."""
    doc, first = as_is, None
    for act, step in chain:
        started = step.status != "pending" and step.before_doc is not None
        base = step.before_doc if started and step.before_doc is not None else doc
        first = base if first is None else first
        if being_undone(act) or step.status in ("failed", "cancelled"):
            doc = base
        elif started and step.after_doc is not None:
            doc = step.after_doc
        else:
            try:
                after = intents.apply_changes(without_state(base), step.changes)
            except Conflict:
                after = without_state(base)
            state = step.to_state or base.get("state")
            if state is not None:
                after["state"] = state
            doc = after
    return copy.deepcopy(doc), copy.deepcopy(first if first is not None else as_is)
