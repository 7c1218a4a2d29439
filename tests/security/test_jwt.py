"""Bearer JWTs against a local JWKS (keys generated here): valid, expired, skewed, wrong audience or issuer,
key rotation, and the tenant and scopes they carry."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from app.auth import Authenticator
from app.settings import Settings
from resolvers.rules.errors import Unauthenticated
from tests.events.support import API, running

ISSUER, AUDIENCE = "https://idp.example/realms/tmf", "tmf640"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_jwks(path: Path, keys: dict[str, rsa.RSAPrivateKey]) -> None:
    jwks = []
    for kid, key in keys.items():
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        jwks.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
    path.write_text(json.dumps({"keys": jwks}), encoding="utf-8")


def token(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "portal-1", "iat": now, "exp": now + 300,
            "tenant": "tenant-a", "scope": "read write", **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def settings(path: Path, **overrides: Any) -> Settings:
    return Settings(database_url="sqlite+aiosqlite:///unused.db", jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
                    jwt_jwks_file=str(path), jwt_jwks_refresh=0, jwt_leeway=60, **overrides)


async def test_jwts_are_verified_against_the_jwks(tmp_path: Path) -> None:
    jwks, first, second = tmp_path / "jwks.json", new_key(), new_key()
    write_jwks(jwks, {"k1": first})
    auth = Authenticator(settings(jwks))
    caller = await auth.authenticate("Bearer " + token(first, "k1"))
    assert (caller.identity, caller.tenant, caller.scopes) == ("jwt:portal-1", "tenant-a",
                                                                frozenset({"read", "write"}))
    skewed = token(first, "k1", exp=int(time.time()) - 30)  # within the 60 s leeway: clocks differ
    assert (await auth.authenticate("Bearer " + skewed)).tenant == "tenant-a"
    refused = {
        "expired": token(first, "k1", exp=int(time.time()) - 600),
        "audience": token(first, "k1", aud="another-service"),
        "issuer": token(first, "k1", iss="https://evil.example"),
        "unknown key": token(new_key(), "k1"),
        "no tenant": token(first, "k1", tenant=None),
        "every tenant without admin": token(first, "k1", tenant="*"),
    }
    for why, bad in refused.items():
        with pytest.raises(Unauthenticated):
            await auth.authenticate("Bearer " + bad)
        assert why
    with pytest.raises(Unauthenticated, match="expired"):
        await auth.authenticate("Bearer " + refused["expired"])
    with pytest.raises(Unauthenticated, match="audience"):
        await auth.authenticate("Bearer " + refused["audience"])
    # rotation: the provider publishes k2 and drops k1; tokens signed by k2 verify without a restart
    write_jwks(jwks, {"k2": second})
    assert (await auth.authenticate("Bearer " + token(second, "k2"))).tenant == "tenant-a"
    with pytest.raises(Unauthenticated, match="unknown key"):
        await auth.authenticate("Bearer " + token(first, "k1"))
    with pytest.raises(Unauthenticated):
        await auth.authenticate("Basic dXNlcjpwYXNz")


async def test_a_jwt_on_the_rest_api(tmp_path: Path, database_url: str) -> None:
    jwks, key = tmp_path / "jwks.json", new_key()
    write_jwks(jwks, {"k1": key})
    s = settings(jwks).model_copy(update={"database_url": database_url, "migrate_on_start": False})
    async with running(s) as r:
        headers = {"Authorization": "Bearer " + token(key, "k1", scope="read")}
        assert (await r.client.get(f"{API}/service", headers=headers)).status_code == 200
        assert (await r.client.post(f"{API}/service", json={}, headers=headers)).status_code == 403
        expired = {"Authorization": "Bearer " + token(key, "k1", exp=int(time.time()) - 600)}
        answer = await r.client.get(f"{API}/service", headers=expired)
        assert answer.status_code == 401 and "expired" in answer.json()["message"]
        assert (await r.client.get(f"{API}/service")).status_code == 401
    assert isinstance(r.client, httpx.AsyncClient)


async def test_the_jwks_is_read_from_a_url_and_again_on_rotation(tmp_path: Path) -> None:
    """The provider's JWKS endpoint is a real local HTTP server; rotating its keys needs no restart."""
    import asyncio

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from tests.events.support import WAIT, _Server, eventually, free_port

    jwks, first, second = tmp_path / "jwks.json", new_key(), new_key()
    write_jwks(jwks, {"k1": first})

    async def serve_jwks(_request: Request) -> Response:
        return Response(jwks.read_text(encoding="utf-8"), media_type="application/json")

    port = free_port()
    server = _Server(uvicorn.Config(Starlette(routes=[Route("/jwks", serve_jwks)]), host="127.0.0.1", port=port,
                                    log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        async def started() -> bool:
            return bool(server.started)

        await eventually(started, WAIT, "the JWKS server")  # uvicorn exposes no awaitable for this
        auth = Authenticator(Settings(database_url="sqlite+aiosqlite:///unused.db", jwt_issuer=ISSUER,
                                      jwt_audience=AUDIENCE, jwt_jwks_url=f"http://127.0.0.1:{port}/jwks",
                                      jwt_jwks_refresh=0))
        assert (await auth.authenticate("Bearer " + token(first, "k1"))).tenant == "tenant-a"
        write_jwks(jwks, {"k1": first, "k2": second})
        assert (await auth.authenticate("Bearer " + token(second, "k2", tenant="t2"))).tenant == "t2"
        with pytest.raises(Unauthenticated, match="audience"):
            await auth.authenticate("Bearer " + token(second, "k2", aud="other"))
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT)
