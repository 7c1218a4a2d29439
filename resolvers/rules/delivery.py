"""Hub delivery rules: retry schedule, give-up point, request signing, callback URLs. Plain Python."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from resolvers.rules import json_text
from resolvers.rules.errors import ValidationFailed

SIGNATURE_HEADER = "X-TMF640-Signature"
# Standard Webhooks (standardwebhooks.com): id, timestamp and signature headers; replay-safe by the timestamp.
WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"
STANDARD_TOLERANCE = 300  # seconds a receiver accepts between the timestamp and its clock
MAX_CALLBACK_LENGTH = 2048


@dataclass(frozen=True)
class DeliveryPolicy:
    """Exponential backoff `retry_base * 2**(n-1)` capped at `retry_cap` seconds after the n-th failed attempt
    on an event; the listener is marked failing once that event has been failing for `max_age` seconds (or
    `max_attempts` attempts failed on it, when that is not 0), whichever comes first. A failing listener is
    tried again every `failing_retry` seconds, and is active again as soon as one delivery succeeds."""

    retry_base: float = 1.0
    retry_cap: float = 300.0
    max_attempts: int = 0
    max_age: float = 86_400.0
    failing_retry: float = 600.0

    def delay(self, attempt: int) -> timedelta:
        """Wait before the attempt after failed attempt number `attempt` (1-based)."""
        exponent = min(max(attempt - 1, 0), 62)
        return timedelta(seconds=min(self.retry_cap, self.retry_base * (2**exponent)))

    def gives_up(self, attempt: int, first_failure_at: datetime, now: datetime) -> bool:
        by_count = self.max_attempts > 0 and attempt >= self.max_attempts
        return by_count or (now - first_failure_at).total_seconds() >= self.max_age


def body_of(envelope: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact UTF-8 JSON, written as every answer is (json_text)."""
    return json_text.dumps(envelope)


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body keyed with the listener's secret>`, GitHub's webhook form."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a listener does with the header: constant-time comparison against the expected signature."""
    return hmac.compare_digest(sign(secret, body), signature)


def _standard_key(secret: str) -> bytes:
    """A `whsec_<base64>` secret is its decoded bytes (the Standard Webhooks form); any other, its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_"):], validate=True)
        except ValueError:
            pass
    return secret.encode("utf-8")


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, the Standard Webhooks signature."""
    mac = hmac.new(_standard_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify_standard(secret: str, received: dict[str, str], body: bytes, now: float,
                    tolerance: int = STANDARD_TOLERANCE) -> bool:
    """What a listener does: the signature matches one of those sent, and the timestamp is recent (no replay)."""
    lower = {k.lower(): v for k, v in received.items()}
    try:
        msg_id, timestamp = lower[WEBHOOK_ID], int(lower[WEBHOOK_TIMESTAMP])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign_standard(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, sig) for sig in lower.get(WEBHOOK_SIGNATURE, "").split())


def headers(
    *, hub_id: str, event_id: str, event_type: str, correlation_id: str | None, attempt: int, body: bytes,
    secret: str | None, timestamp: int = 0, signing: str = "both",
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
    if secret and signing in ("both", "tmf640"):
        out[SIGNATURE_HEADER] = sign(secret, body)
    if secret and signing in ("both", "standard"):
        out[WEBHOOK_ID] = event_id
        out[WEBHOOK_TIMESTAMP] = str(timestamp)
        out[WEBHOOK_SIGNATURE] = sign_standard(secret, event_id, timestamp, body)
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
