"""GraphQL subscriptions over graphql-transport-ws, with gql's WebSocket client against a real uvicorn server.

Written to hold before and after the activation engine: orders are checked on whatever events arrive, and
completeness by comparing with the outbox table, never by counting state changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import websockets
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.events.support import WAIT, event_settings, eventually
from tests.events.ws import Served, serving, subscribed, until_equal

pytestmark = pytest.mark.e2e

SERVICE_CHANGED = """
subscription Tree($tree: ID, $after: String, $types: [String!]) {
  serviceChanged(treeOf: $tree, after: $after, eventTypes: $types) {
    eventId eventType eventTime correlationId fieldPath event
    service { id name state etag }
  }
}"""
EVENTS = """
subscription All($query: String, $after: String, $types: [String!]) {
  events(query: $query, after: $after, eventTypes: $types) { eventId eventType correlationId service { id } }
}"""
CREATE = """
mutation Create($input: JSON!, $cid: String) {
  createService(input: $input, correlationId: $cid) { __typename ... on Error { message } }
}"""
ACTIVATE_TREE = """
mutation Activate($cid: String) {
  a: activateService(id: "vpn-1-a", correlationId: $cid) { __typename }
  b: activateService(id: "vpn-1-b", correlationId: $cid) { __typename }
  bundle: activateService(id: "vpn-1", correlationId: $cid) { __typename }
  patch: patchService(id: "vpn-1-a", mergePatch: {description: "while away"}, correlationId: $cid) { __typename }
}"""
MARK = """
mutation { patchService(id: "vpn-1", mergePatch: {description: "marker"}) { __typename } }
"""
TREE = ("vpn-1", "vpn-1-a", "vpn-1-b")
BUNDLE = {
    "id": "vpn-1", "name": "Site VPN", "state": "designed", "isBundle": True,
    "serviceSpecification": {"name": "vpn"},
    "supportingService": [
        {"id": member, "name": member, "state": "designed", "serviceSpecification": {"name": "part"}}
        for member in TREE[1:]
    ],
}


async def warm_up(served: Served) -> tuple[str, int]:
    """One committed unrelated event: subscriptions started `after` it cannot miss what follows."""
    await served.graphql(CREATE, {"input": {"name": "warm-up", "state": "designed",
                                            "serviceSpecification": {"name": "s"}}})
    last = (await served.outbox())[-1]
    return last.event_id, last.seq


def assert_members_first(events: list[dict[str, Any]]) -> None:
    """Members' creation before the bundle's; a member's move to a state before the bundle's move to it."""
    def position(kind: str, sid: str, state: str | None = None) -> int | None:
        for i, e in enumerate(events):
            service = e["service"]
            if e["eventType"] == kind and service["id"] == sid and state in (None, service["state"]):
                return i
        return None

    bundle_created = position("ServiceCreateEvent", "vpn-1")
    assert bundle_created is not None
    for member in TREE[1:]:
        created = position("ServiceCreateEvent", member)
        assert created is not None and created < bundle_created, (member, [e["eventType"] for e in events])
    for e in events:
        if e["eventType"] == "ServiceStateChangeEvent" and e["service"]["id"] == "vpn-1":
            bundle_moved = position("ServiceStateChangeEvent", "vpn-1", e["service"]["state"])
            for member in TREE[1:]:
                moved = position("ServiceStateChangeEvent", member, e["service"]["state"])
                assert moved is None or bundle_moved is None or moved < bundle_moved, (member, e["service"]["state"])


async def test_tree_subscription_receives_the_tree_in_order_and_resumes_after_a_disconnect(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served:
        start_id, start_seq = await warm_up(served)

        async def tree_events(after_seq: int) -> list[str]:
            return [e.event_id for e in await served.outbox(after_seq)
                    if e.resource_type == "service" and e.resource_id in TREE]

        async def order_events() -> list[str]:
            return [e.event_id for e in await served.outbox(start_seq) if e.correlation_id == "order-1"]

        async with subscribed(served.ws, SERVICE_CHANGED, tree="vpn-1", after=start_id) as sub, \
                subscribed(served.ws, EVENTS, query="correlationId=order-1", after=start_id) as everything:
            created = await served.graphql(CREATE, {"input": BUNDLE, "cid": "order-1"})
            assert created["createService"]["__typename"] == "ServicePayload", created
            await until_equal(sub, lambda: tree_events(start_seq))
            await until_equal(everything, order_events)  # same events, through the `events` subscription
            first = list(sub.received)
        assert {e["correlationId"] for e in first if e["eventType"] == "ServiceCreateEvent"} == {"order-1"}
        assert {e["service"]["id"] for e in first} == set(TREE)
        assert all(e["service"]["etag"] == "" and e["event"]["service"]["id"] == e["service"]["id"] for e in first)

        # Disconnected: the tree is activated and patched; then resume after the last event seen.
        activated = await served.graphql(ACTIVATE_TREE, {"cid": "order-2"})
        assert activated["patch"]["__typename"] == "ServicePayload", activated
        last_id = first[-1]["eventId"]
        last_seq = next(e.seq for e in await served.outbox() if e.event_id == last_id)
        async with subscribed(served.ws, SERVICE_CHANGED, tree="vpn-1", after=last_id) as again:
            await until_equal(again, lambda: tree_events(last_seq))  # exactly the missed ones, in order
            assert any(e["correlationId"] == "order-2" for e in again.received)
            assert any(e["fieldPath"] == "description" for e in again.received)
            await served.graphql(MARK)  # then live, with nothing repeated in between
            await until_equal(again, lambda: tree_events(last_seq))
            assert again.received[-1]["event"]["service"]["description"] == "marker"
            everything_seen = first + again.received
        assert_members_first(everything_seen)
        ids = [e["eventId"] for e in everything_seen]
        assert len(ids) == len(set(ids)) and ids == await tree_events(start_seq)


async def test_a_member_added_later_is_in_the_tree(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served:
        start_id, _ = await warm_up(served)
        await served.graphql(CREATE, {"input": BUNDLE})
        async with subscribed(served.ws, SERVICE_CHANGED, tree="vpn-1", after=start_id,
                              types=["ServiceCreateEvent"]) as sub:
            await sub.wait_for(3)
            patch = """mutation { patchService(id: "vpn-1", mergePatch: {supportingService: [
              {id: "vpn-1-a"}, {id: "vpn-1-b"},
              {id: "vpn-1-c", name: "late", state: "designed", serviceSpecification: {name: "part"}}]}) {
              __typename ... on Error { message } } }"""
            assert (await served.graphql(patch))["patchService"]["__typename"] == "ServicePayload"
            received = await sub.wait_for(4)
        ids = [e["service"]["id"] for e in received]
        assert sorted(ids[:2]) == ["vpn-1-a", "vpn-1-b"] and ids[2:] == ["vpn-1", "vpn-1-c"]


BAD = [
    ({"types": ["ServiceExplodedEvent"]}, SERVICE_CHANGED, "unknown event type 'ServiceExplodedEvent'"),
    ({"after": "no-such-event"}, SERVICE_CHANGED, "no event with id 'no-such-event'"),
    ({"query": "eventType*=("}, EVENTS, "not a valid regular expression"),
    ({"query": "colour=red"}, EVENTS, "colour"),
]


@pytest.mark.parametrize(("variables", "document", "message"), BAD)
async def test_bad_arguments_are_clear_errors(
    database_url: str, variables: dict[str, Any], document: str, message: str
) -> None:
    async with serving(event_settings(database_url)) as served, \
            subscribed(served.ws, document, **variables) as sub:
        error = await sub.wait_error()
    assert isinstance(error, TransportQueryError), repr(error)
    assert message in str(error), str(error)


async def test_one_subscription_over_the_bound_is_refused_the_others_go_on(database_url: str) -> None:
    settings = event_settings(database_url, graphql_max_subscriptions=2)
    async with serving(settings) as served:
        start_id, _ = await warm_up(served)
        next_id, _ = await warm_up(served)
        # gql multiplexes every subscription of one session over one connection
        transport = WebsocketsTransport(url=served.ws, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
        async with Client(transport=transport, fetch_schema_from_transport=False) as session:
            streams = [session.subscribe(request(SERVICE_CHANGED, after=start_id))
                       for _ in range(2)]
            for stream in streams:  # each is running on the server once it has replayed the second warm-up
                result = await asyncio_wait(stream.__anext__())
                assert result["serviceChanged"]["eventId"] == next_id
            extra = session.subscribe(request(SERVICE_CHANGED, after=start_id))
            with pytest.raises(TransportQueryError, match="at most 2 may run at once"):
                await asyncio_wait(extra.__anext__())
            await served.graphql(CREATE, {"input": {"name": "later", "state": "designed",
                                                    "serviceSpecification": {"name": "s"}}})
            for stream in streams:
                result = await asyncio_wait(stream.__anext__())
                assert result["serviceChanged"]["service"]["name"] == "later"
                await stream.aclose()


def request(document: str, **variables: Any) -> GraphQLRequest:
    req = gql(document)
    req.variable_values = variables
    return req


async def asyncio_wait(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, WAIT)


async def test_a_silent_connection_is_closed_after_the_init_timeout(database_url: str) -> None:
    settings = event_settings(database_url, graphql_connection_init_timeout=0.5)
    async with serving(settings) as served, \
            websockets.connect(served.ws, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio_wait(ws.recv())
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


async def test_the_legacy_protocol_is_refused_by_default(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served, \
            websockets.connect(served.ws, subprotocols=[websockets.Subprotocol("graphql-ws")]) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio_wait(ws.recv())
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def test_a_client_going_away_leaves_the_bus(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served:
        start_id, _ = await warm_up(served)
        await warm_up(served)
        bus = served.app.state.events.bus
        before = bus.status.subscribers
        async with subscribed(served.ws, SERVICE_CHANGED, after=start_id) as sub:
            await sub.wait_for(1)
            assert bus.status.subscribers == before + 1
        async def gone() -> bool:
            return bool(bus.status.subscribers == before)

        await eventually(gone, what="the subscription to leave the bus")
