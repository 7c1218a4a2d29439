"""Hub listeners through GraphQL: the same resolver as REST, so the same listener seen both ways."""

from __future__ import annotations

from typing import Any

from store.uow import ALL_TENANTS
from tests.events.support import API, event_settings, eventually, listening, running, simple
from tests.graphql import ok

HUB_FIELDS = """id callback query href state signed createdAt deliveredUpToSeq failedAttempts firstFailureAt
  nextAttemptAt failedAt lastError"""
REGISTER = f"""
mutation Register($callback: String!, $query: String, $secret: String) {{
  registerHub(callback: $callback, query: $query, secret: $secret) {{
    __typename
    ... on HubPayload {{ hub {{ {HUB_FIELDS} }} }}
    ... on ValidationError {{ message code path }}
  }}
}}"""
HUB = f"""
query Hub($id: ID!) {{
  hub(id: $id) {{ {HUB_FIELDS}
    deliveries {{ totalCount nodes {{ id seq eventId eventType attempt at delivered statusCode error durationMs }} }} }}
  hubs {{ totalCount nodes {{ id }} }}
}}"""
UNREGISTER = """
mutation Unregister($id: ID!) {
  unregisterHub(id: $id) { __typename ... on UnregisterHubPayload { deletedId } ... on NotFoundError { message id } }
}"""
RESUME = """
mutation Resume($id: ID!) {
  resumeHub(id: $id) { __typename ... on HubPayload { hub { id state } } ... on NotFoundError { message } }
}"""

CAMEL = {"createdAt", "deliveredUpToSeq", "failedAttempts", "firstFailureAt", "nextAttemptAt", "failedAt",
         "lastError"}


def as_rest(hub: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in hub.items() if k != "deliveries"}
    if out.get("query") is None:
        out.pop("query", None)
    return out


async def test_hub_mutations_round_trip_and_match_the_rest_hub(database_url: str) -> None:
    async with running(event_settings(database_url)) as run, listening() as listener:
        client = run.client
        query = "eventType=ServiceCreateEvent"
        data = await ok(client, REGISTER, {"callback": listener.url, "query": query, "secret": "s3cret"})
        registered = data["registerHub"]
        assert registered["__typename"] == "HubPayload", registered
        hub = registered["hub"]
        assert hub["callback"] == listener.url and hub["query"] == query and hub["signed"] is True
        assert hub["state"] == "active"

        rest = await client.get(f"{API}/hub/{hub['id']}")
        assert rest.status_code == 200
        assert rest.json() == as_rest(hub) | {"href": rest.json()["href"]}
        assert rest.json()["href"].endswith(f"{API}/hub/{hub['id']}")

        created = await client.post(f"{API}/service", json=simple("watched"))
        assert created.status_code == 201
        await listener.wait_for(lambda lst: len(lst.events) == 1)

        async def delivered() -> dict[str, Any]:
            found: dict[str, Any] = (await ok(client, HUB, {"id": hub["id"]}))["hub"]
            return found

        async def recorded() -> bool:  # the attempt is recorded in the commit after the listener's answer
            return bool((await delivered())["deliveries"]["totalCount"] == 1)

        await eventually(recorded, what="the delivery record")

        async def quiet() -> bool:  # the cursor moves past every event of the request (the query skips most)
            async with run.app.state.resolvers.store.read(ALL_TENANTS) as uow:
                last = await uow.outbox.last_seq()
            return bool((await delivered())["deliveredUpToSeq"] >= last)

        await eventually(quiet, what="the hub's cursor to pass the request's last event")  # then nothing moves
        seen = await delivered()
        [attempt] = seen["deliveries"]["nodes"]
        assert attempt["delivered"] is True and attempt["statusCode"] == 201 and attempt["attempt"] == 1
        assert attempt["eventType"] == "ServiceCreateEvent"
        assert attempt["eventId"] == listener.events[0]["eventId"]
        rest_deliveries = (await client.get(f"{API}/hub/{hub['id']}/deliveries")).json()
        assert [d["eventId"] for d in rest_deliveries] == [attempt["eventId"]]
        rest_now = (await client.get(f"{API}/hub/{hub['id']}")).json()
        assert as_rest(seen) == rest_now

        listed = await ok(client, HUB, {"id": hub["id"]})
        assert [h["id"] for h in listed["hubs"]["nodes"]] == [hub["id"]] and listed["hubs"]["totalCount"] == 1

        resumed = (await ok(client, RESUME, {"id": hub["id"]}))["resumeHub"]
        assert resumed == {"__typename": "HubPayload", "hub": {"id": hub["id"], "state": "active"}}

        gone = (await ok(client, UNREGISTER, {"id": hub["id"]}))["unregisterHub"]
        assert gone == {"__typename": "UnregisterHubPayload", "deletedId": hub["id"]}
        assert (await client.get(f"{API}/hub/{hub['id']}")).status_code == 404
        assert (await ok(client, HUB, {"id": hub["id"]}))["hub"] is None
        again = (await ok(client, UNREGISTER, {"id": hub["id"]}))["unregisterHub"]
        assert again["__typename"] == "NotFoundError" and hub["id"] in again["message"]
        missing = (await ok(client, RESUME, {"id": hub["id"]}))["resumeHub"]
        assert missing["__typename"] == "NotFoundError"

        # a hub registered over REST reads the same through GraphQL
        via_rest = (await client.post(f"{API}/hub", json={"callback": listener.url})).json()
        read = (await ok(client, HUB, {"id": via_rest["id"]}))["hub"]
        assert as_rest(read) == (await client.get(f"{API}/hub/{via_rest['id']}")).json()


async def test_bad_registrations_are_validation_errors(database_url: str) -> None:
    async with running(event_settings(database_url)) as run:
        for variables, path in (
            ({"callback": "not a url"}, "callback"),
            ({"callback": "http://127.0.0.1:9/x", "query": "colour=red"}, "colour"),
        ):
            result = (await ok(run.client, REGISTER, variables))["registerHub"]
            assert result["__typename"] == "ValidationError", result
            assert result["code"] and path in (result["path"] or "") + result["message"]
        assert (await run.client.get(f"{API}/hub")).json() == []
