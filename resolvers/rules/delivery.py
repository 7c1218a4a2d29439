"""Hub delivery rules: retry schedule, give-up point, request signing, callback URLs. Plain Python."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from resolvers.rules.errors import ValidationFailed

SIGNATURE_HEADER = "X-TMF640-Signature"
MAX_CALLBACK_LENGTH = 2048


@dataclass(frozen=True)
class DeliveryPolicy:
    """Exponential backoff `retry_base * 2**(n-1)` capped at `retry_cap` seconds after the n-th failed attempt
    on an event; the listener is marked failing once `max_attempts` attempts failed on one event or that event
    has been failing for `max_age` seconds, whichever comes first."""

    retry_base: float = 1.0
    retry_cap: float = 300.0
    max_attempts: int = 10
    max_age: float = 86_400.0

    def delay(self, attempt: int) -> timedelta:
        """Wait before the attempt after failed attempt number `attempt` (1-based)."""
        exponent = min(max(attempt - 1, 0), 62)
        return timedelta(seconds=min(self.retry_cap, self.retry_base * (2**exponent)))

    def gives_up(self, attempt: int, first_failure_at: datetime, now: datetime) -> bool:
        return attempt >= self.max_attempts or (now - first_failure_at).total_seconds() >= self.max_age


def body_of(envelope: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact UTF-8 JSON."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body keyed with the listener's secret>`, GitHub's webhook form."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a listener does with the header: constant-time comparison against the expected signature."""
    return hmac.compare_digest(sign(secret, body), signature)


def headers(
    *, hub_id: str, event_id: str, event_type: str, correlation_id: str | None, attempt: int, body: bytes,
    secret: str | None,
) -> dict[str, str]:
    out = {
        "Content-Type": "application/json",
        "X-TMF640-Hub-Id": hub_id,
        "X-TMF640-Event-Id": event_id,
        "X-TMF640-Event-Type": event_type,
        "X-TMF640-Delivery-Attempt": str(attempt),
    }
    if correlation_id:
        out["X-Correlation-ID"] = correlation_id
    if secret:
        out[SIGNATURE_HEADER] = sign(secret, body)
    return out


def check_callback(callback: Any) -> str:
    """An absolute http(s) URL with a host; ValidationFailed names what is wrong."""
    if not isinstance(callback, str) or not callback.strip():
        raise ValidationFailed("callback", "is required: the absolute http(s) URL events are POSTed to")
    if len(callback) > MAX_CALLBACK_LENGTH:
        raise ValidationFailed("callback", f"is longer than {MAX_CALLBACK_LENGTH} characters")
    if any(ch.isspace() for ch in callback):
        raise ValidationFailed("callback", "must not contain white space")
    try:
        parts = urlsplit(callback)
        port = parts.port
    except ValueError as exc:
        raise ValidationFailed("callback", f"{callback!r} is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationFailed("callback", f"{callback!r} is not an absolute http or https URL")
    if port == 0:
        raise ValidationFailed("callback", f"{callback!r} has no usable port")
    return callback


def check_secret(secret: Any) -> str | None:
    if secret is None:
        return None
    if not isinstance(secret, str) or not (1 <= len(secret) <= 255):
        raise ValidationFailed("secret", "must be a string of 1 to 255 characters")
    return secret
