"""What a write asks of the network, and how it meets work already under way. Plain Python.

Vocabulary (README, "Activation"):
- the *as-is* document is what `service.doc` holds: the state and configuration the network has;
- a write's *intent* (the to-be) is a target state and a list of RFC 6902 operations on the document;
- a *step* carries one service's intent inside an activation; its *action* is what a driver is asked to do.

One step per service per activation, with the action of the target state (`STATE_ACTIONS`); a write that
changes no state but changes configuration of a service that lives in the network is a `modify`. Writes
that change neither (plain attribute edits, or configuration of a service that is not in the network yet)
need no driver: they complete at once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import Enum
from typing import Any

from resolvers.rules import patching
from resolvers.rules.errors import Conflict, ValidationFailed
from resolvers.rules.lifecycle import STATES, Lifecycle

STATE_ACTIONS: dict[str, str] = {
    "feasibilityChecked": "feasibilityCheck",
    "designed": "design",
    "reserved": "reserve",
    "inactive": "provision",  # from active it is "deactivate" (suspend), see action_for
    "active": "activate",
    "terminated": "terminate",
}
MODIFY = "modify"
ACTIONS = (*STATE_ACTIONS.values(), "deactivate", MODIFY)
DOWN_ACTIONS = frozenset({"deactivate", "terminate"})

# States in which a service has a presence in the network, so that a configuration change needs a driver.
NETWORK_STATES = frozenset({"reserved", "inactive", "active"})
# Attributes whose change is a configuration change (the rest are inventory data: name, notes, parties...).
CONFIG_ATTRIBUTES = frozenset({
    "serviceCharacteristic", "feature", "supportingResource", "supportingService", "serviceRelationship",
    "place", "serviceSpecification", "isServiceEnabled", "startMode",
})
# Attributes the engine renders and never stores: what is under way (README, "Reading the to-be").
EXTENSION = "x-activation"

_RANK = {state: i for i, state in enumerate(STATES)}


def rank(state: str | None) -> int:
    """Position along the lifecycle; a service that does not exist in the network yet ranks lowest."""
    return -1 if state is None else _RANK.get(state, -1)


def action_for(from_state: str | None, to_state: str | None) -> str | None:
    """The driver action that moves a service from one state to another; None when nothing needs doing."""
    if to_state is None or to_state == from_state:
        return None
    if to_state == "terminated" and from_state is None:
        return None  # never reached the network: nothing to free
    if to_state == "inactive" and from_state == "active":
        return "deactivate"
    return STATE_ACTIONS[to_state]


def without_state(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k not in ("state", "id", "href", EXTENSION)}
    return copy.deepcopy(out)


def config_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return any(before.get(name) != after.get(name) for name in CONFIG_ATTRIBUTES)


def needed_action(
    from_state: str | None, to_state: str | None, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    """The action a step needs, or None when it completes without a driver."""
    action = action_for(from_state, to_state)
    if action is not None:
        return action
    if (to_state is None or to_state == from_state) and from_state in NETWORK_STATES and config_changed(
        before, after
    ):
        return MODIFY
    return None


def is_down(action: str | None) -> bool:
    """Deactivation and termination walk a bundle in reverse: the bundle before its members."""
    return action in DOWN_ACTIONS


def apply_changes(doc: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The document with a step's operations applied; Conflict when they no longer fit it."""
    if not changes:
        return copy.deepcopy(doc)
    try:
        return patching.apply(copy.deepcopy(doc), patching.Patch("json", changes))
    except (Conflict, ValidationFailed) as exc:  # the as-is moved under a queued change (an earlier one failed)
        raise Conflict(f"the queued change no longer applies to the service: {exc}") from exc


@dataclass(frozen=True)
class Resolution:
    """What a step does once it starts, decided against the as-is document of that moment."""

    action: str | None
    from_state: str | None
    before: dict[str, Any]
    after: dict[str, Any]


def resolve(
    as_is: dict[str, Any], changes: list[dict[str, Any]], to_state: str | None, lifecycle: Lifecycle
) -> Resolution:
    """Rebase a step on the as-is document; raises InvalidTransition or Conflict when it cannot be done."""
    from_state = as_is.get("state")
    after = apply_changes(without_state(as_is), changes)
    target = from_state if to_state is None else to_state
    if to_state is not None and to_state != from_state:
        lifecycle.check(from_state, to_state)
    if target is not None:
        after["state"] = target
    before = copy.deepcopy(as_is)
    return Resolution(needed_action(from_state, to_state, without_state(before), without_state(after)),
                      from_state, before, after)


class Decision(Enum):
    """How a write meets the work already under way on its service (README table)."""

    DIRECT = "direct"  # nothing in flight: plan new work (or complete at once)
    AMEND = "amend"  # the pending step's work has not started: change its intent
    QUEUE = "queue"  # work has started: run this write after it
    CANCEL = "cancel"  # go back (or terminate): cancel what is in flight, compensate, then do this write


@dataclass(frozen=True)
class InFlight:
    """The last unfinished step on a service, as a write sees it."""

    step_status: str
    from_state: str | None  # predicted state before the step
    to_state: str | None  # None: the step changes configuration only
    single: bool  # the step is the only one of its activation (its target may be changed)

    @property
    def target(self) -> str | None:
        return self.from_state if self.to_state is None else self.to_state


def decide(tail: InFlight | None, requested: str | None) -> Decision:
    """Amend what has not started, queue behind what has, cancel when the write goes back."""
    if tail is None:
        return Decision.DIRECT
    pending = tail.step_status == "pending"
    if requested is None or requested == tail.target:
        return Decision.AMEND if pending else Decision.QUEUE
    if requested == "terminated":
        return Decision.CANCEL
    going_back = requested == tail.from_state or rank(requested) < rank(tail.target)
    if pending and tail.single:
        return Decision.AMEND  # nothing started: retargeting is the cheapest way back or forward
    return Decision.CANCEL if going_back else Decision.QUEUE


def member_target(current: str | None, bundle_target: str, lifecycle: Lifecycle) -> str | None:
    """The state a held member moves to when its bundle moves to `bundle_target`; None: it stays as it is.

    Members follow their bundle forward (never backwards: a member already as far stays), follow it into
    suspension and back (active <-> inactive), and into termination. A terminated member cannot follow a
    bundle anywhere but termination: that is a conflict the request is refused for.
    """
    if current == bundle_target:
        return None
    if bundle_target == "terminated":
        return bundle_target
    if current == "terminated":
        raise Conflict(f"a member is terminated and cannot follow its bundle to {bundle_target!r}")
    if {current, bundle_target} == {"active", "inactive"}:
        return bundle_target
    if rank(current) >= rank(bundle_target):
        return None
    lifecycle.check(current, bundle_target)
    return bundle_target
