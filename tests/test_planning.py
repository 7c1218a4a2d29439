"""Bundle planning and intent decisions, as plain Python (no database)."""

from __future__ import annotations

import pytest

from resolvers.rules import intents, monitor_docs, planning
from resolvers.rules.errors import Conflict, DependencyCycle, InvalidTransition
from resolvers.rules.intents import Decision, InFlight
from resolvers.rules.lifecycle import STRICT
from resolvers.rules.planning import Edge


@pytest.mark.parametrize(
    ("relationship_type", "direction"),
    [("dependsOn", 1), ("DependsOn", 1), ("depends_on", 1), ("DEPENDENT-ON", 1), ("reliesOn", 1),
     ("requires", 1), ("requiredBy", -1), ("isRequiredBy", -1), ("bundles", 0), ("child", 0), (None, 0), ("", 0)],
)
def test_dependency_vocabulary_is_case_insensitive(relationship_type: str | None, direction: int) -> None:
    assert planning.dependency_direction(relationship_type) == direction


def test_members_and_dependencies_come_first() -> None:
    edges = [Edge("B", "m1", "supporting"), Edge("B", "m2", "supporting"),
             Edge("m1", "m2", "relationship", "reliesOn"), Edge("m2", "x", "relationship", "likes")]
    plan = planning.plan(["B", "m1", "m2", "x"], {"B", "m1", "m2", "x"}, edges)
    # Among ready services the one the request lists first goes first; x orders nothing ("likes").
    assert plan.order == ["m2", "m1", "B", "x"]
    assert plan.depends_on == {"B": ["m1", "m2"], "m1": ["m2"], "m2": [], "x": []}


def test_down_reverses_every_edge() -> None:
    edges = [Edge("B", "m1", "supporting"), Edge("m1", "m2", "relationship", "dependsOn")]
    plan = planning.plan(["B", "m1", "m2"], {"B", "m1", "m2"}, edges, down=True)
    assert plan.order == ["B", "m1", "m2"]


def test_order_passes_through_services_without_work() -> None:
    edges = [Edge("a", "b", "relationship", "dependsOn"), Edge("b", "c", "relationship", "dependsOn")]
    plan = planning.plan(["a", "b", "c"], {"a", "c"}, edges)
    assert plan.depends_on == {"a": ["c"], "c": []}


def test_a_cycle_is_named() -> None:
    edges = [Edge("a", "b", "relationship", "dependsOn"), Edge("b", "c", "relationship", "requires"),
             Edge("a", "c", "relationship", "requiredBy")]
    with pytest.raises(DependencyCycle) as caught:
        planning.plan(["a", "b", "c"], {"a", "b", "c"}, edges)
    cycle = caught.value.cycle
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}


def test_a_bundle_containing_itself_is_a_cycle() -> None:
    with pytest.raises(DependencyCycle):
        planning.plan(["a", "b"], {"a", "b"}, [Edge("a", "b", "supporting"), Edge("b", "a", "supporting")])


@pytest.mark.parametrize(
    ("from_state", "to_state", "action"),
    [(None, "active", "activate"), (None, "inactive", "provision"), ("active", "inactive", "deactivate"),
     ("inactive", "active", "activate"), ("designed", "reserved", "reserve"),
     (None, "feasibilityChecked", "feasibilityCheck"), ("reserved", "terminated", "terminate"),
     (None, "terminated", None), ("active", "active", None)],
)
def test_actions(from_state: str | None, to_state: str, action: str | None) -> None:
    assert intents.action_for(from_state, to_state) == action


def test_configuration_changes_need_the_network_only_where_the_service_lives() -> None:
    before, after = {"serviceCharacteristic": [1]}, {"serviceCharacteristic": [2]}
    assert intents.needed_action("active", None, before, after) == "modify"
    assert intents.needed_action("designed", None, before, after) is None
    assert intents.needed_action("active", None, {"name": "a"}, {"name": "b"}) is None


def test_resolve_rebases_the_intent_on_the_as_is() -> None:
    res = intents.resolve({"state": "inactive", "name": "n"}, [{"op": "add", "path": "/note", "value": []}],
                          "active", STRICT)
    assert res.action == "activate" and res.after == {"name": "n", "note": [], "state": "active"}
    with pytest.raises(InvalidTransition):
        intents.resolve({"state": "terminated"}, [], "active", STRICT)
    with pytest.raises(Conflict):
        intents.resolve({"state": "active"}, [{"op": "remove", "path": "/missing"}], None, STRICT)


@pytest.mark.parametrize(
    ("tail", "requested", "decision"),
    [
        (None, "active", Decision.DIRECT),
        (InFlight("pending", None, "active", True), None, Decision.AMEND),
        (InFlight("running", None, "active", True), None, Decision.QUEUE),
        (InFlight("running", None, "active", True), "active", Decision.QUEUE),
        (InFlight("running", "inactive", "active", True), "inactive", Decision.CANCEL),  # back where it was
        (InFlight("running", None, "active", True), "designed", Decision.CANCEL),  # back before the target
        (InFlight("running", None, "active", True), "terminated", Decision.CANCEL),
        (InFlight("pending", None, "active", True), "designed", Decision.AMEND),  # nothing started: retarget
        (InFlight("pending", None, "active", False), "designed", Decision.CANCEL),  # a bundle: undo it whole
        (InFlight("running", None, "reserved", True), "active", Decision.QUEUE),  # further: after it
    ],
)
def test_in_flight_decisions(tail: InFlight | None, requested: str | None, decision: Decision) -> None:
    assert intents.decide(tail, requested) is decision


def test_members_follow_their_bundle() -> None:
    assert intents.member_target(None, "active", STRICT) == "active"
    assert intents.member_target("active", "reserved", STRICT) is None  # already further: stays
    assert intents.member_target("active", "inactive", STRICT) == "inactive"
    assert intents.member_target("inactive", "active", STRICT) == "active"
    assert intents.member_target("active", "terminated", STRICT) == "terminated"
    with pytest.raises(Conflict):
        intents.member_target("terminated", "active", STRICT)


@pytest.mark.parametrize("spelling", ["In Progress", "inProgress", "INPROGRESS", "in_progress", "InProgress"])
def test_monitor_state_spellings(spelling: str) -> None:
    assert monitor_docs.normalize_state(spelling) == "InProgress"
    assert monitor_docs.normalize_state("completed") == "Completed"
    assert monitor_docs.normalize_state("something") == "something"
