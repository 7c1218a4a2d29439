"""A step's driver call with bounded retries of transient failures: the same for the batched forward work
(`resolvers/activation/forward.py`) and the one-activation execution (`execution.py`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from resolvers.activation.drivers import DriverError, Step
from resolvers.activation.env import ExecutionEnv, Stopping

log = logging.getLogger("tmf640.engine")


async def execute(
    env: ExecutionEnv, call: Step, *, guard: Callable[[], Awaitable[None]], hold: Callable[[str], Awaitable[None]],
) -> tuple[dict[str, Any] | None, str | None]:
    """Send `call` to its driver: (result, None) on success, (None, error) when it refused or failed.

    `guard` runs right before every attempt (it raises when the lease is gone or the server stops); a transient
    failure is retried under the same step id within `env.retry`, after which `hold` parks the activation (it
    raises `Held`)."""
    began, retries = time.monotonic(), 0
    while True:
        await guard()
        try:
            return await env.outside(env.drivers.for_service(call.service).execute(call)), None
        except Stopping:
            raise
        except DriverError as exc:
            if not exc.retryable:
                return None, exc.message
            if env.retry.exhausted(retries, time.monotonic() - began):
                await hold(f"driver unreachable: step {call.id} ({call.action} of service "
                           f"{call.service_id}) failed {retries + 1} times: {exc.message}")
            retries += 1
            log.info("activation %s: step %s failed transiently (%s), retry %d", call.activation_id, call.id, exc,
                     retries, extra={"event": "step_retry", "step_id": call.id, "attempt": retries,
                                     "error": exc.message})
            await env.outside(asyncio.sleep(env.retry.delay(retries)))
        except Exception as exc:  # a driver's failure is the step's outcome, never the runner's crash
            return None, getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
