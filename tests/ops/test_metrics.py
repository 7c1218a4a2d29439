"""`/metrics` after known traffic: the counters move by exactly what was done."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from resolvers.context import RequestContext
from tests.events.support import API, event_settings, eventually, listening, running
from tests.events.ws import serving, subscribed


def scrape(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, parsed by prometheus_client's own parser."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of `name` over the series carrying `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def metrics(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return scrape(response.text)


async def test_counters_move_by_the_traffic(database_url: str) -> None:
    async with listening() as listener, running(event_settings(database_url)) as r:
        hub = (await r.client.post(f"{API}/hub", json={"callback": listener.url,
                                                        "query": "eventType=ServiceCreateEvent"})).json()["id"]
        before = await metrics(r.client)
        process = {dict(ls).get("process") for (n, ls) in before if n == "tmf640_http_requests_total"}
        assert len(process) == 1 and None not in process  # every series says which process it is from

        created = []
        for i in range(3):
            answer = await r.client.post(f"{API}/service", json={
                "name": f"m-{i}", "state": "active", "serviceSpecification": {"name": "spec"}})
            assert answer.status_code == 201, answer.text
            created.append(answer.json()["id"])
        for sid in created:
            assert (await r.client.get(f"{API}/service/{sid}")).status_code == 200
        assert (await r.client.get(f"{API}/service/nope")).status_code == 404
        failed = await r.client.post(f"{API}/service", headers={"Prefer": "respond-async"}, json={
            "name": "doomed", "state": "active", "serviceSpecification": {"name": "spec"},
            "serviceCharacteristic": [{"name": "simulateFailure", "value": "activate"}]})
        outcome = await r.app.state.resolvers.engine.wait(RequestContext(), failed.json()["id"], 20.0)
        assert outcome["state"] == "InError"
        query = {"query": "query Few { services(first: 1) { totalCount } }"}
        for _ in range(2):
            assert (await r.client.post("/graphql", json=query)).status_code == 200
        bad = {"query": "query Broken { nothing }"}
        assert (await r.client.post("/graphql", json=bad)).json()["errors"]
        await listener.wait_for(lambda lis: len(lis.accepted) >= 4)  # 3 + the doomed service's create event

        after = await metrics(r.client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    service = f"{API}/service"
    assert delta("tmf640_http_requests_total", method="POST", route=service, status="201") == 3
    assert delta("tmf640_http_requests_total", method="POST", route=service, status="202") == 1
    assert delta("tmf640_http_requests_total", method="GET", route=f"{service}/{{id:tmf_id}}", status="200") == 3
    assert delta("tmf640_http_requests_total", method="GET", route=f"{service}/{{id:tmf_id}}", status="404") == 1
    assert delta("tmf640_http_request_duration_seconds_count", method="POST", route=service) == 4
    assert delta("tmf640_graphql_operations_total", operation="Few", type="query", outcome="ok") == 2
    assert delta("tmf640_graphql_operations_total", operation="Broken", outcome="error") == 1
    assert delta("tmf640_activations_total", outcome="completed") == 3
    assert delta("tmf640_activations_total", outcome="failed") == 1
    assert delta("tmf640_activation_duration_seconds_count", outcome="completed") == 3
    assert delta("tmf640_activation_steps_total", driver="simulated", outcome="succeeded") == 3
    assert delta("tmf640_activation_steps_total", driver="simulated", outcome="failed") == 1
    assert delta("tmf640_hub_deliveries_total", listener=hub, outcome="delivered") == 4
    assert value(after, "tmf640_hub_delivery_failures_total", listener=hub) == 0
    assert value(after, "tmf640_hub_backlog_events", listener=hub) >= 0
    assert value(after, "tmf640_outbox_lag_events") >= 0
    assert value(after, "tmf640_db_pool_connections", state="size") >= 1
    assert ("process_resident_memory_bytes" in {n for n, _ in after}) or ("python_info" in {n for n, _ in after})


async def test_websocket_and_subscription_gauges(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served, httpx.AsyncClient(base_url=served.http) as client:
        before = await metrics(client)

        async def moved(by: int) -> bool:
            now = await metrics(client)
            return all(value(now, name) == value(before, name) + by
                       for name in ("tmf640_websocket_connections", "tmf640_graphql_subscriptions"))

        async with subscribed(served.ws, "subscription { events { eventType } }"):
            await eventually(lambda: moved(1), what="one WebSocket and one subscription counted")
        await eventually(lambda: moved(0), what="both gauges back where they were")


async def test_metrics_are_the_operators_once_authentication_is_on(database_url: str) -> None:
    from tests.security.support import KEYS, auth

    async with running(event_settings(database_url, api_keys=KEYS)) as r:
        assert (await r.client.get("/metrics")).status_code == 401
        assert (await r.client.get("/metrics", headers=auth("key-a-read"))).status_code == 403
        assert (await r.client.get("/metrics", headers=auth("key-a-admin"))).status_code == 403  # one tenant's
        answer = await r.client.get("/metrics", headers=auth("key-ops"))
        assert answer.status_code == 200 and "tmf640_http_requests_total" in answer.text
