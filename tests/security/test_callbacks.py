"""Hub callbacks cannot reach inside (SSRF): every form of an internal address is refused at registration and
again at each connection; the allow-list admits the test listener; a tenant's listeners are capped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from resolvers.callback_guard import CallbackGuard, system_resolve
from resolvers.rules.callbacks import CallbackRules
from resolvers.rules.errors import ValidationFailed
from tests.events.support import API, Running, eventually, listening, running
from tests.security.support import auth, secured_settings

NAMES = {  # what a hostile DNS answers for names that look harmless
    "metadata.google.internal": ["169.254.169.254"],
    "metadata.example.test": ["169.254.169.254"],
    "intranet.example.test": ["10.0.0.7"],
    "v6-inside.example.test": ["fd12:3456::1"],
    "mixed.example.test": ["93.184.216.34", "192.168.0.10"],
    "public.example.test": ["93.184.216.34"],
}


async def fake_dns(host: str, port: int) -> list[str]:
    return NAMES[host] if host in NAMES else await system_resolve(host, port)


REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.5.4/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost:8080/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fd00::1]/hook", "unique-local"),
    ("http://100.64.0.1/hook", "CGNAT"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one decimal number
    ("http://0x7f.1/hook", "loopback"),  # 127.0.0.1 in inet_aton's short hex form
    ("http://017700000001/hook", "loopback"),  # octal
    ("http://metadata.google.internal/computeMetadata/v1/", "link-local"),
    ("http://metadata.example.test/", "link-local"),
    ("http://intranet.example.test/", "private"),
    ("http://v6-inside.example.test/", "unique-local"),
    ("http://mixed.example.test/", "private"),  # one bad address is enough
    ("https://api.tmf.example.test:8443/hook", "own address"),  # the server's own base URL
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_internal_callbacks_are_refused(url: str, reason: str) -> None:
    guard = CallbackGuard(CallbackRules.build([], ["https://api.tmf.example.test:8443"]), fake_dns)
    with pytest.raises(ValidationFailed) as refused:
        await guard.pin(url)
    assert refused.value.path == "callback" and reason in refused.value.detail, refused.value.detail


async def test_public_callbacks_are_pinned_to_the_checked_address() -> None:
    guard = CallbackGuard(CallbackRules.build([]), fake_dns)
    target = await guard.pin("https://public.example.test:8443/events?x=1")
    assert target.url == "https://93.184.216.34:8443/events?x=1"
    assert (target.host_header, target.sni) == ("public.example.test:8443", "public.example.test")


async def test_the_allow_list_admits_what_it_names() -> None:
    async with listening() as listener:
        strict = CallbackGuard(CallbackRules.build([]), fake_dns)
        with pytest.raises(ValidationFailed):
            await strict.pin(listener.url)
        for allow in (["127.0.0.0/8"], ["127.0.0.1/32"], ["127.0.0.1"]):
            target = await CallbackGuard(CallbackRules.build(allow), fake_dns).pin(listener.url)
            assert target.url.startswith("http://127.0.0.1:")
        named = CallbackGuard(CallbackRules.build(["intranet.example.test"]), fake_dns)
        assert (await named.pin("http://intranet.example.test/")).url == "http://10.0.0.7/"


@pytest.fixture
async def secured(database_url: str) -> AsyncIterator[Running]:
    async with running(secured_settings(database_url, hub_max_listeners_per_tenant=2)) as r:
        yield r


async def test_registration_refuses_and_caps(secured: Running) -> None:
    client = secured.client
    for url in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[fd00::1]/",
                "http://testserver/tmf-api/serviceActivationAndConfiguration/v4/service"):
        refused = await client.post(f"{API}/hub", json={"callback": url}, headers=auth("key-a-admin"))
        assert refused.status_code == 400 and "callback" in refused.json()["message"], (url, refused.text)
    for n in range(2):
        made = await client.post(f"{API}/hub", json={"callback": f"http://127.0.0.1:9/{n}"},
                                 headers=auth("key-a-admin"))
        assert made.status_code == 201, made.text  # the allow-list names the tests' local listeners
    third = await client.post(f"{API}/hub", json={"callback": "http://127.0.0.1:9/3"}, headers=auth("key-a-admin"))
    assert third.status_code == 409 and "TMF640_HUB_MAX_LISTENERS_PER_TENANT" in third.json()["message"]
    other = await client.post(f"{API}/hub", json={"callback": "http://127.0.0.1:9/b"}, headers=auth("key-b-admin"))
    assert other.status_code == 201  # the cap is per tenant


async def test_each_connection_is_checked_again(secured: Running) -> None:
    """DNS rebinding: a name public at registration that later resolves inside is refused at delivery."""
    answers = {"rebind.example.test": ["93.184.216.34"]}

    async def dns(host: str, port: int) -> list[str]:
        return answers[host] if host in answers else await system_resolve(host, port)

    resolvers, events = secured.app.state.resolvers, secured.app.state.events
    resolvers.hubs.callbacks = CallbackGuard(resolvers.hubs.callbacks.rules, dns)
    events.dispatcher.guard = CallbackGuard(events.dispatcher.guard.rules, dns)
    client = secured.client
    made = await client.post(f"{API}/hub", json={"callback": "http://rebind.example.test:9/x"},
                             headers=auth("key-a-admin"))
    assert made.status_code == 201, made.text
    answers["rebind.example.test"] = ["10.0.0.9"]
    created = await client.post(f"{API}/service", json={"name": "n", "state": "designed",
                                                         "serviceSpecification": {"name": "s"}},
                                headers={**auth("key-a-write"), "Prefer": "respond-async"})
    assert created.status_code == 202
    deliveries = f"{API}/hub/{made.json()['id']}/deliveries"

    async def refused() -> bool:
        page = (await client.get(deliveries, headers=auth("key-a-admin"))).json()
        return any("private" in (d.get("error") or "") for d in page)

    await eventually(refused, what="a delivery refused at connection time")
    page = (await client.get(deliveries, headers=auth("key-a-admin"))).json()
    assert not any(d["delivered"] for d in page)
