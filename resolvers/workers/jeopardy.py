"""Jeopardy: work running longer than expected is flagged on its Monitor, once, with an event.

The expected duration is `TMF640_ACTIVATION_EXPECTED_SECONDS`, or the entry for the specification (id, then
name) of the request's service in `TMF640_ACTIVATION_EXPECTED_SECONDS_BY_SPEC`. The Monitor gains
`jeopardy: true` and `jeopardyAt`, announced by a `MonitorAttributeValueChangeEvent` naming those fields.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from resolvers.activation import progress
from resolvers.activation.env import ExecutionEnv
from store.uow import ALL_TENANTS

log = logging.getLogger("tmf640.engine")


class JeopardyWatch:
    def __init__(self, env: ExecutionEnv, expected_seconds: float, by_spec: dict[str, float]) -> None:
        self.env = env
        self.expected_seconds = expected_seconds
        self.by_spec = dict(by_spec)
        self.flagged = 0  # activations flagged by this process (a counter for metrics)
        self._done: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self.expected_seconds > 0 or bool(self.by_spec)

    def expected_for(self, doc: dict[str, Any] | None) -> float:
        spec = (doc or {}).get("serviceSpecification")
        if isinstance(spec, dict):
            for key in (spec.get("id"), spec.get("name")):
                if key is not None and str(key) in self.by_spec:
                    return self.by_spec[str(key)]
        return self.expected_seconds

    async def check(self, activation_ids: list[str]) -> None:
        wanted = [a for a in activation_ids if a not in self._done]
        if not wanted:
            return
        now = datetime.now(UTC)
        async with self.env.store.read(ALL_TENANTS) as uow:
            acts = await uow.activations.get_many(wanted)
            roots = await uow.services.get_many([a.root_id for a in acts.values()]) if self.by_spec else {}
        for act in acts.values():
            if act.jeopardy_at is not None or act.finished:
                self._done.add(act.id)
                continue
            root = roots.get(act.root_id)
            expected = self.expected_for(root.doc if root is not None else None)
            created = act.created_at if act.created_at.tzinfo else act.created_at.replace(tzinfo=UTC)
            if expected <= 0 or (now - created).total_seconds() < expected:
                continue
            async with self.env.store.write(ALL_TENANTS) as uow:
                # The lease check serialises this with the activation's own writes (its monitors' versions).
                if await uow.activations.touch(act.id, self.env.owner, now) is None:
                    continue
                if not await uow.activations.flag_jeopardy(act.id, now):
                    continue
                fresh = await uow.activations.get(act.id)
                ids = await progress.publish(uow, fresh, now, final=False) if fresh is not None else []
            self.env.notifier.notify(ids)
            self._done.add(act.id)
            self.flagged += 1
            log.warning("activation %s in jeopardy: running %.0f s, expected %.0f s", act.id,
                        (now - created).total_seconds(), expected)
