"""The service lifecycle as data: which state may follow which. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.rules.errors import InvalidTransition, ValidationFailed

STATES: tuple[str, ...] = ("feasibilityChecked", "designed", "reserved", "inactive", "active", "terminated")


def _strict() -> dict[str, frozenset[str]]:
    rules: dict[str, set[str]] = {}
    for i, state in enumerate(STATES[:-1]):
        forward = set(STATES[i + 1 :])  # forward along the list, skipping allowed, terminated included
        rules[state] = forward
    rules["active"].add("inactive")  # suspend
    rules["inactive"].add("active")  # resume
    rules["terminated"] = set()  # nothing leaves terminated
    return {k: frozenset(v) for k, v in rules.items()}


@dataclass(frozen=True)
class Lifecycle:
    """Allowed transitions per state. `strict` is the default profile; `permissive` allows any move."""

    name: str
    transitions: dict[str, frozenset[str]]

    def allowed_from(self, current: str | None) -> list[str]:
        if current is None:
            return list(STATES)
        return [s for s in STATES if s in self.transitions.get(current, frozenset())]

    def check_state(self, state: object, path: str = "state") -> str:
        if not isinstance(state, str) or state not in STATES:
            raise ValidationFailed(path, f"must be one of {', '.join(STATES)}; got {state!r}")
        return state

    def check(self, current: str | None, requested: str) -> None:
        """Raise InvalidTransition unless `current` may move to `requested` (staying put is always fine)."""
        self.check_state(requested)
        if current == requested or current is None:
            return
        if requested not in self.transitions.get(current, frozenset()):
            raise InvalidTransition(current, requested, self.allowed_from(current))


STRICT = Lifecycle("strict", _strict())
PERMISSIVE = Lifecycle(
    "permissive", {s: frozenset(t for t in STATES if t != s) for s in STATES}
)
PROFILES = {"strict": STRICT, "permissive": PERMISSIVE}
