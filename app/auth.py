"""Who is calling: API keys from configuration and bearer JWTs from an OIDC provider (docs/security.md).

`Authenticator.authenticate(authorization)` turns an `Authorization` header value (or a WebSocket
`connection_init` payload's) into a `Caller` (identity, tenant, scopes), or raises `Unauthenticated`.

- API keys (`TMF640_API_KEYS`) are compared in constant time against every configured key.
- JWTs are verified with PyJWT: signature by a key of the JWKS (URL or file; a token signed by a key not
  yet known reloads it, at most once per `jwt_jwks_refresh` seconds, so the provider may rotate keys),
  issuer, audience, expiry with `jwt_leeway` seconds of clock skew.
- Without any authentication setting (development only: production refuses to start) every caller is the
  anonymous development caller: every scope, in the default tenant.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import Settings
from resolvers.context import ADMIN, EVERY_TENANT, SCOPES, Caller
from resolvers.rules.errors import Unauthenticated

if TYPE_CHECKING:  # PyJWT and httpx load when a JWT is first checked: a server with API keys only never pays
    import jwt

log = logging.getLogger("tmf640.auth")

MAX_TOKEN_LENGTH = 16_384


def bearer(authorization: str | None) -> str | None:
    """The credential of `Bearer <credential>`; None when there is none. Anything else is refused."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("use `Authorization: Bearer <API key or token>`")
    if len(credential) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("the credential is too long")
    return credential.strip()


def _grant(identity: str, tenant: Any, scopes: Any) -> Caller:
    if not isinstance(tenant, str) or not tenant or len(tenant) > 255:
        raise Unauthenticated("the credential names no tenant")
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list | tuple):
        scopes = []
    held = frozenset(s for s in scopes if s in SCOPES)
    if tenant == EVERY_TENANT and ADMIN not in held:
        raise Unauthenticated('only an admin may act for every tenant ("*")')
    return Caller(identity=identity, tenant=tenant, scopes=held)


@dataclass
class JwksSource:
    """The provider's signing keys, from a URL or a file, reloaded for unknown key ids (rotation)."""

    url: str | None = None
    path: str | None = None
    refresh: float = 30.0
    _keys: jwt.PyJWKSet | None = None
    _loaded_at: float = float("-inf")
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def _load(self) -> jwt.PyJWKSet:
        import jwt

        if self.path is not None:
            text = await asyncio.to_thread(Path(self.path).read_text, encoding="utf-8")
        else:
            assert self.url is not None
            import httpx

            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.get(self.url)
                response.raise_for_status()
                text = response.text
        return jwt.PyJWKSet.from_dict(json.loads(text))

    async def key(self, kid: str | None) -> jwt.PyJWK:
        async with self._lock:
            found = self._find(kid)
            if found is None and time.monotonic() - self._loaded_at >= self.refresh:
                try:
                    self._keys = await self._load()
                except Exception as exc:  # the provider is down: known keys still verify
                    log.error("could not load the JWKS: %s", exc)
                    raise Unauthenticated("the signing keys cannot be read now; try again later") from exc
                finally:
                    self._loaded_at = time.monotonic()
                found = self._find(kid)
        if found is None:
            raise Unauthenticated("the token is signed by an unknown key")
        return found

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if self._keys is None:
            return None
        keys = [k for k in self._keys.keys if kid is None or k.key_id == kid]
        return keys[0] if len(keys) == 1 or (keys and kid is not None) else None


@dataclass
class Authenticator:
    settings: Settings
    jwks: JwksSource | None = None

    def __post_init__(self) -> None:
        s = self.settings
        self._keys = [(key.encode("utf-8"), grant) for key, grant in s.api_keys.items()]
        if self.jwks is None and (s.jwt_jwks_url or s.jwt_jwks_file):
            self.jwks = JwksSource(url=s.jwt_jwks_url, path=s.jwt_jwks_file, refresh=s.jwt_jwks_refresh)

    @property
    def anonymous(self) -> bool:
        """Whether callers without credentials are let in (development without authentication settings)."""
        return not self.settings.authentication_configured

    async def authenticate(self, authorization: str | None) -> Caller:
        credential = bearer(authorization)
        if credential is None:
            if self.anonymous:
                return Caller()
            raise Unauthenticated("authentication is required: send `Authorization: Bearer <API key or token>`")
        caller = self._api_key(credential)
        if caller is not None:
            return caller
        if self.jwks is not None and credential.count(".") == 2:
            return await self._jwt(credential)
        raise Unauthenticated("the credential is not valid")

    def _api_key(self, credential: str) -> Caller | None:
        given = credential.encode("utf-8")
        match = None
        for key, grant in self._keys:  # every key compared, in constant time each: no early exit
            if hmac.compare_digest(given, key):
                match = grant
        if match is None:
            return None
        identity = "api-key:" + hashlib.sha256(given).hexdigest()[:12]
        return _grant(identity, match.tenant, list(match.scopes))

    async def _jwt(self, token: str) -> Caller:
        import jwt

        s = self.settings
        assert self.jwks is not None
        try:
            header = jwt.get_unverified_header(token)
            key = await self.jwks.key(header.get("kid"))
            claims = jwt.decode(
                token, key=key, algorithms=s.jwt_algorithms, audience=s.jwt_audience, issuer=s.jwt_issuer,
                leeway=s.jwt_leeway, options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("the token is not meant for this server (audience)") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("the token comes from another issuer") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from exc
        return _grant(f"jwt:{claims['sub']}", claims.get(s.jwt_tenant_claim), claims.get(s.jwt_scope_claim))
