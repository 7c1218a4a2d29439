"""The `simulated` driver: a network that answers after a latency, fails when told to, and remembers calls.

Configuration (`TMF640_DRIVER_CONFIG={"simulated": {...}}`):
- `latencyMs`: a number, or a mapping from specification id/name to milliseconds (`"*"` for the rest);
- `failureRate`: the same shape, a probability in [0, 1]; the draw is a hash of `seed` and the step id, so
  that a step sent again (same id) gets the same answer;
- `seed`: integer; `journal`: a file to which every call is appended as one JSON line (tests read what was
  executed across processes);
- `memory`: calls (and answers, so that a step sent again gets the same one) kept in memory, the newest
  `memory` of them (default 1,000): memory stays bounded however long the server runs.

A service asks for a deterministic failure through a characteristic:
`{"name": "simulateFailure", "value": "activate"}` fails its `activate` step; the value may be a list; `"*"`
fails any action; `"compensate"` (or `"compensate:activate"`) fails the compensation. A characteristic
`simulateLatencyMs` overrides the latency for that service.

Tests hold a step with `hold(service_id=..., action=...)`: the call waits until the gate is released, and
`gate.entered` is set when the call arrives, so a test acts *while* work runs without sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from resolvers.activation.drivers.base import DriverError, Step

EXECUTE = "execute"
COMPENSATE = "compensate"


@dataclass(frozen=True)
class Call:
    phase: str
    step_id: str
    service_id: str
    action: str
    repeat: bool = False
    service: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Gate:
    """Holds matching calls until `release()`; `entered` is set when the first one arrives."""

    service_id: str | None
    action: str | None
    phase: str = EXECUTE
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, phase: str, step: Step) -> bool:
        return (
            phase == self.phase
            and (self.service_id is None or self.service_id == step.service_id)
            and (self.action is None or self.action == step.action)
        )

    def release(self) -> None:
        self.opened.set()


def _per_spec(value: Any, default: float) -> dict[str, float]:
    if isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    if value is None:
        return {"*": default}
    return {"*": float(value)}


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


class SimulatedDriver:
    def __init__(
        self,
        *,
        latency_ms: Any = None,
        failure_rate: Any = None,
        seed: int = 0,
        journal: str | None = None,
        memory: int = 1_000,
    ) -> None:
        self.latency_ms = _per_spec(latency_ms, 0.0)
        self.failure_rate = _per_spec(failure_rate, 0.0)
        self.seed = seed
        self.journal = journal
        self.memory = max(1, memory)
        self.calls: list[Call] = []
        self.gates: list[Gate] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._outcomes: OrderedDict[tuple[str, str], dict[str, Any] | DriverError] = OrderedDict()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SimulatedDriver:
        return cls(
            latency_ms=config.get("latencyMs"),
            failure_rate=config.get("failureRate"),
            seed=int(config.get("seed", 0)),
            journal=config.get("journal"),
            memory=int(config.get("memory", 1_000)),
        )

    # ---- what tests use ----------------------------------------------------------------------------------

    def hold(self, *, service_id: str | None = None, action: str | None = None, phase: str = EXECUTE) -> Gate:
        gate = Gate(service_id, action, phase)
        self.gates.append(gate)
        return gate

    def executed(self, phase: str = EXECUTE) -> list[Call]:
        return [c for c in self.calls if c.phase == phase and not c.repeat]

    # ---- the driver interface -----------------------------------------------------------------------------

    async def execute(self, step: Step) -> dict[str, Any]:
        return await self._call(EXECUTE, step)

    async def compensate(self, step: Step) -> dict[str, Any]:
        return await self._call(COMPENSATE, step)

    async def aclose(self) -> None:
        for gate in self.gates:
            gate.release()

    async def _call(self, phase: str, step: Step) -> dict[str, Any]:
        key = (phase, step.id)
        repeat = key in self._outcomes
        self.calls.append(Call(phase, step.id, step.service_id, step.action, repeat, step.service))
        if len(self.calls) > self.memory:  # trimmed by a tenth at a time: amortised O(1)
            del self.calls[: len(self.calls) - self.memory + self.memory // 10]
        self._journal(phase, step, repeat)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(phase, step, key, repeat)
        finally:
            self.in_flight -= 1

    async def _answer(self, phase: str, step: Step, key: tuple[str, str], repeat: bool) -> dict[str, Any]:
        for gate in [g for g in self.gates if g.matches(phase, step)]:
            gate.entered.set()
            await gate.opened.wait()
        known = self._outcomes.get(key) if repeat else None
        if known is not None:  # (an answer forgotten past `memory` is drawn again: the draw is deterministic)
            if isinstance(known, DriverError):
                raise known
            return known
        await asyncio.sleep(self._latency(step) / 1000)
        failure = self._failure(phase, step)
        if failure is not None:
            self._remember(key, failure)
            raise failure
        result: dict[str, Any] = {"driver": "simulated", "phase": phase, "action": step.action, "stepId": step.id}
        if step.action == "feasibilityCheck" and phase == EXECUTE:
            result["feasible"] = True
        self._remember(key, result)
        return result

    def _remember(self, key: tuple[str, str], outcome: dict[str, Any] | DriverError) -> None:
        self._outcomes[key] = outcome
        while len(self._outcomes) > self.memory:
            self._outcomes.popitem(last=False)

    def _latency(self, step: Step) -> float:
        own = step.characteristic("simulateLatencyMs")
        if isinstance(own, (int, float)) or (isinstance(own, str) and own.replace(".", "", 1).isdigit()):
            return float(own)
        return self._for_spec(self.latency_ms, step)

    def _for_spec(self, table: dict[str, float], step: Step) -> float:
        spec = step.service.get("serviceSpecification")
        if isinstance(spec, dict):
            for key in (spec.get("id"), spec.get("name")):
                if key is not None and str(key) in table:
                    return table[str(key)]
        return table.get("*", 0.0)

    def _failure(self, phase: str, step: Step) -> DriverError | None:
        wanted = _listed(step.characteristic("simulateFailure"))
        if phase == EXECUTE and (step.action in wanted or "*" in wanted):
            return DriverError(f"simulated failure of {step.action} for service {step.service_id}")
        if phase == COMPENSATE and ("compensate" in wanted or f"compensate:{step.action}" in wanted):
            return DriverError(f"simulated failure compensating {step.action} for service {step.service_id}")
        rate = self._for_spec(self.failure_rate, step)
        if phase == EXECUTE and rate > 0:
            digest = hashlib.sha256(f"{self.seed}:{step.id}".encode()).digest()
            if int.from_bytes(digest[:4], "big") / 2**32 < rate:
                return DriverError(f"simulated random failure of {step.action} for service {step.service_id}")
        return None

    def _journal(self, phase: str, step: Step, repeat: bool) -> None:
        if not self.journal:
            return
        line = json.dumps({
            "phase": phase, "stepId": step.id, "serviceId": step.service_id, "action": step.action,
            "attempt": step.attempt, "repeat": repeat, "pid": os.getpid(),
        })
        # One write per line with O_APPEND: lines from concurrent calls and processes never interleave.
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
