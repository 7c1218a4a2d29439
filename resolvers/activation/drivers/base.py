"""The activation driver interface: what the engine asks of the network, one step at a time.

A driver is any object with two coroutines (and an optional `aclose`):

    async def execute(self, step: Step) -> dict   # do `step.action` for `step.service`; a JSON-able result
    async def compensate(self, step: Step) -> dict  # undo a step that `execute` did (or may have done)

- `step.id` is stable: the engine records a step as running before it calls the driver and as done after.
  A step whose outcome was not recorded (the server died during the call) is sent again with the same id,
  never under another one, so a driver (or the system behind it) makes `execute` idempotent per `step.id`.
  `compensate` is idempotent per `step.id` too, and must accept a step whose `execute` never arrived.
- A failure is an exception: raise `DriverError(message)` for a refusal the engine reports as is; any other
  exception is reported with its text. The engine never retries `execute` (the driver knows what is safe to
  retry); it retries `compensate` a few times, with the same id.
- Actions: feasibilityCheck, design, reserve, provision (to inactive without ever being active), activate,
  deactivate (active -> inactive), modify (configuration change in place), terminate.

Drivers are chosen per `serviceSpecification` (id first, then name) from the `TMF640_DRIVERS` mapping and are
built by a factory `factory(config: dict) -> driver`: the built-in `simulated` and `http`, or a third-party one
registered under the entry point group `tmf640.drivers` (see resolvers.activation.drivers.registry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Step:
    """One service's part of an activation, as a driver sees it."""

    id: str  # stable step id: the idempotency key
    activation_id: str
    service_id: str
    action: str
    service: dict[str, Any]  # the to-be document (with `id`): what the network should look like after
    before: dict[str, Any] = field(default_factory=dict)  # the as-is document when the step started
    from_state: str | None = None
    to_state: str | None = None
    attempt: int = 1
    correlation_id: str | None = None

    @property
    def specification_key(self) -> str | None:
        spec = self.service.get("serviceSpecification")
        if not isinstance(spec, dict):
            return None
        key = spec.get("id") or spec.get("name")
        return str(key) if key else None

    def characteristic(self, name: str) -> Any:
        for item in self.service.get("serviceCharacteristic") or []:
            if isinstance(item, dict) and item.get("name") == name:
                return item.get("value")
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "stepId": self.id, "activationId": self.activation_id, "serviceId": self.service_id,
            "action": self.action, "fromState": self.from_state, "toState": self.to_state,
            "attempt": self.attempt, "correlationId": self.correlation_id, "service": self.service,
            "before": self.before,
        }


class DriverError(Exception):
    """The network (or the driver) refused the step; the message is shown in the Monitor."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@runtime_checkable
class Driver(Protocol):
    async def execute(self, step: Step) -> dict[str, Any]: ...

    async def compensate(self, step: Step) -> dict[str, Any]: ...
