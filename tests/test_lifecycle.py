"""Lifecycle rules as data: the strict default and the permissive profile, in the domain and through REST."""

from __future__ import annotations

import itertools

import httpx
import pytest
from pydantic import ValidationError

from app.factory import create_app
from app.settings import Settings
from resolvers.rules.errors import InvalidTransition
from resolvers.rules.lifecycle import PERMISSIVE, STATES, STRICT, Lifecycle
from tests.tmf import API, MERGE, assert_tmf_error, create, minimal


def strict_allows(current: str, target: str) -> bool:
    """DESIGN.md, written out independently: forward along the list (skipping allowed), active<->inactive,
    any -> terminated, nothing leaves terminated; staying put is no transition."""
    if current == target:
        return True
    if current == "terminated":
        return False
    if target == "terminated" or {current, target} == {"active", "inactive"}:
        return True
    return STATES.index(target) > STATES.index(current)


def allows(lifecycle: Lifecycle, current: str, target: str) -> bool:
    try:
        lifecycle.check(current, target)
    except InvalidTransition as exc:
        assert exc.allowed == lifecycle.allowed_from(current)
        return False
    return True


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATES, STATES)))
def test_strict_rules(current: str, target: str) -> None:
    assert allows(STRICT, current, target) == strict_allows(current, target)


def test_strict_examples() -> None:
    assert STRICT.allowed_from("terminated") == []
    assert STRICT.allowed_from("active") == ["inactive", "terminated"]
    assert STRICT.allowed_from("feasibilityChecked") == list(STATES[1:])


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATES, STATES)))
def test_permissive_allows_every_move(current: str, target: str) -> None:
    assert allows(PERMISSIVE, current, target)


async def test_default_profile_is_strict_over_rest(client: httpx.AsyncClient) -> None:
    created = await create(client, minimal(state="terminated"))
    response = await client.patch(f"{API}/service/{created['id']}", json={"state": "active"}, headers=MERGE)
    assert_tmf_error(response, 409, "terminated", "active")


async def test_permissive_profile_from_the_environment(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMF640_LIFECYCLE", "permissive")
    settings = Settings(database_url=database_url, migrate_on_start=False)
    assert settings.lifecycle == "permissive"
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            created = await create(client, minimal(state="terminated"))
            url = f"{API}/service/{created['id']}"
            revived = await client.patch(url, json={"state": "active"}, headers=MERGE)
            assert revived.status_code == 200 and revived.json()["state"] == "active"
            back = await client.patch(url, json={"state": "feasibilityChecked"}, headers=MERGE)
            assert back.status_code == 200 and back.json()["state"] == "feasibilityChecked"


def test_unknown_profile_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMF640_LIFECYCLE", "anything-goes")
    with pytest.raises(ValidationError, match="lifecycle"):
        Settings()
