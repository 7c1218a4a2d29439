"""The `http` driver: each step is POSTed as JSON to a configured endpoint.

Configuration (`TMF640_DRIVER_CONFIG={"http": {...}}`):
- `url` (required): where steps go; `{action}` and `{phase}` in it are replaced (`https://nms/steps/{action}`);
- `timeoutSeconds` (10), `retries` (3: attempts after the first), `backoffSeconds` (0.5, doubled per retry),
  `headers`: extra headers (e.g. an authorisation the endpoint wants).

The body is `Step.as_json()` plus `"phase": "execute" | "compensate"`. Headers carry the idempotency key:
`Idempotency-Key: <step id>` for execute and `<step id>:compensate` for compensate, and `X-Step-Id`; every
retry of a step repeats the same key, so the endpoint can answer a repeat without doing the work twice.
A 2xx answer is success (its JSON object body, if any, is the step's result); a timeout, a connection
failure, 429 and 5xx are retried with backoff; any other answer fails the step with its text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from resolvers.activation.drivers.base import DriverError, Step

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpDriver:
    def __init__(
        self,
        *,
        url: str,
        timeout_seconds: float = 10.0,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.retries = max(0, retries)
        self.backoff_seconds = backoff_seconds
        self.client = httpx.AsyncClient(
            timeout=timeout_seconds, headers=dict(headers or {}), transport=transport
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HttpDriver:
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise ValueError('the http driver needs a "url" in TMF640_DRIVER_CONFIG["http"]')
        return cls(
            url=url,
            timeout_seconds=float(config.get("timeoutSeconds", 10.0)),
            retries=int(config.get("retries", 3)),
            backoff_seconds=float(config.get("backoffSeconds", 0.5)),
            headers=config.get("headers"),
        )

    async def execute(self, step: Step) -> dict[str, Any]:
        return await self._post("execute", step)

    async def compensate(self, step: Step) -> dict[str, Any]:
        return await self._post("compensate", step)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _post(self, phase: str, step: Step) -> dict[str, Any]:
        url = self.url.replace("{action}", step.action).replace("{phase}", phase)
        key = step.id if phase == "execute" else f"{step.id}:{phase}"
        headers = {"Idempotency-Key": key, "X-Step-Id": step.id, "X-Step-Phase": phase}
        if step.correlation_id:
            headers["X-Correlation-Id"] = step.correlation_id
        body = {**step.as_json(), "phase": phase}
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
            try:
                response = await self.client.post(url, json=body, headers=headers)
            except httpx.TransportError as exc:  # timeouts included
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.is_success:
                return _result(response)
            last = f"HTTP {response.status_code}: {response.text[:500]}"
            if response.status_code not in RETRY_STATUSES:
                raise DriverError(f"{phase} {step.action} refused by {url}: {last}")
        raise DriverError(f"{phase} {step.action} failed at {url} after {self.retries + 1} attempts: {last}",
                          retryable=True)


def _result(response: httpx.Response) -> dict[str, Any]:
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    return {"statusCode": response.status_code}
