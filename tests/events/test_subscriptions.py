"""GraphQL subscriptions over graphql-transport-ws, with gql's WebSocket client against a real uvicorn server.

Mutations return at once; each test waits (bounded, woken by the engine) for the monitors of its mutations, so
the outbox then holds every event of their work. Completeness is checked by comparing what a subscription
received with the outbox table; orders (members before bundles, the monitor's completion last) on what arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import websockets
from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from tests.events.support import WAIT, event_settings, eventually
from tests.events.ws import Served, serving, subscribed, until_equal
from tests.graphql import finished

pytestmark = pytest.mark.e2e

SERVICE_CHANGED = """
subscription Tree($tree: ID, $after: String, $types: [EventType!]) {
  serviceChanged(treeOf: $tree, after: $after, eventTypes: $types) {
    eventId eventType eventTime correlationId fieldPath event
    service { id name state etag }
  }
}"""
EVENTS = """
subscription All($query: String, $after: String, $types: [EventType!]) {
  events(query: $query, after: $after, eventTypes: $types) {
    eventId eventType correlationId service { id state } monitor { id state }
  }
}"""
MONITOR_CHANGED = """
subscription Monitor($id: ID, $after: String) {
  monitorChanged(id: $id, after: $after) { eventId eventType correlationId monitor { id state } }
}"""
WORK = "... on ServicePayload { monitor { id } } ... on Error { message }"
CREATE = f"""
mutation Create($input: JSON!, $cid: String) {{
  createService(input: $input, correlationId: $cid) {{ __typename {WORK} }}
}}"""
# The bundle's activation drives its members first (dependency order); member a is patched while it runs.
ACTIVATE_TREE = f"""
mutation Activate($cid: String) {{
  bundle: activateService(id: "vpn-1", correlationId: $cid) {{ __typename {WORK} }}
  patch: patchService(id: "vpn-1-a", mergePatch: {{description: "while away"}}, correlationId: $cid) {{
    __typename {WORK} }}
}}"""
MARK = f"""
mutation {{ patchService(id: "vpn-1", mergePatch: {{description: "marker"}}) {{ __typename {WORK} }} }}
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


async def settled(served: Served, data: dict[str, Any]) -> list[str]:
    """Wait (bounded, woken by the engine) for the work of each mutation payload in `data`; their monitor ids.

    Mutations return at once; once their monitors are final, every event of their work is in the outbox.
    """
    monitors = []
    for payload in data.values():
        assert payload["__typename"] == "ServicePayload", data
        if payload["monitor"] is not None:
            monitor = await finished(served.app, payload["monitor"]["id"], WAIT)
            assert monitor["state"] == "Completed", monitor
            monitors.append(payload["monitor"]["id"])
    return monitors


async def warm_up(served: Served) -> tuple[str, int]:
    """One committed unrelated change, its work done: subscriptions started `after` it cannot miss what follows."""
    await settled(served, await served.graphql(CREATE, {"input": {"name": "warm-up", "state": "designed",
                                                                  "serviceSpecification": {"name": "s"}}}))
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
    bundle_moves = [e for e in events if e["eventType"] == "ServiceStateChangeEvent" and e["service"]["id"] == "vpn-1"]
    assert bundle_moves, [e["eventType"] for e in events]
    for e in bundle_moves:
        bundle_moved = position("ServiceStateChangeEvent", "vpn-1", e["service"]["state"])
        assert bundle_moved is not None
        for member in TREE[1:]:  # the engine moves every member there, before the bundle
            moved = position("ServiceStateChangeEvent", member, e["service"]["state"])
            assert moved is not None and moved < bundle_moved, (member, e["service"]["state"])


def states_reached(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["service"]["id"], e["service"]["state"]) for e in events if e["eventType"] == "ServiceStateChangeEvent"]


async def test_tree_subscription_receives_the_tree_in_order_and_resumes_after_a_disconnect(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served:
        start_id, start_seq = await warm_up(served)

        async def tree_events(after_seq: int) -> list[str]:
            return [e.event_id for e in await served.outbox(after_seq)
                    if e.resource_type == "service" and e.resource_id in TREE]

        def request_events(cid: str, after_seq: int) -> Callable[[], Awaitable[list[str]]]:
            async def ids() -> list[str]:
                return [e.event_id for e in await served.outbox(after_seq) if e.correlation_id == cid]
            return ids

        async with subscribed(served.ws, SERVICE_CHANGED, tree="vpn-1", after=start_id) as sub, \
                subscribed(served.ws, EVENTS, query="correlationId=order-1", after=start_id) as everything:
            (creation,) = await settled(served, await served.graphql(CREATE, {"input": BUNDLE, "cid": "order-1"}))
            await until_equal(sub, lambda: tree_events(start_seq))
            await until_equal(everything, request_events("order-1", start_seq))  # the Monitor's events too
            first = list(sub.received)
        assert {e["correlationId"] for e in first} == {"order-1"}  # the work's state changes included
        assert {e["service"]["id"] for e in first} == set(TREE)
        assert not any(e["service"]["state"] for e in first if e["eventType"] == "ServiceCreateEvent")
        assert sorted(states_reached(first)) == sorted((sid, "designed") for sid in TREE)
        assert all(e["event"]["service"]["id"] == e["service"]["id"] for e in first)
        # each service with the etag of the version its event carries: created at 1, then one more per change
        assert all(e["service"]["etag"] == '"1"' for e in first if e["eventType"] == "ServiceCreateEvent")
        assert all(int(e["service"]["etag"].strip('"')) > 1 for e in first if e["eventType"] != "ServiceCreateEvent")
        # The request's stream ends with its Monitor's completion, after every state its work reached.
        assert everything.received[-1]["eventType"] == "MonitorStateChangeEvent"
        assert everything.received[-1]["monitor"] == {"id": creation, "state": "Completed"}

        # Disconnected: the tree is activated and a member patched; then resume after the last event seen.
        monitors = await settled(served, await served.graphql(ACTIVATE_TREE, {"cid": "order-2"}))
        last_id = first[-1]["eventId"]
        last_seq = next(e.seq for e in await served.outbox() if e.event_id == last_id)
        async with subscribed(served.ws, SERVICE_CHANGED, tree="vpn-1", after=last_id) as again, \
                subscribed(served.ws, EVENTS, query="correlationId=order-2", after=last_id) as activation, \
                subscribed(served.ws, MONITOR_CHANGED, id=monitors[0], after=last_id) as monitor:
            await until_equal(again, lambda: tree_events(last_seq))  # exactly the missed ones, in order
            await until_equal(activation, request_events("order-2", last_seq))
            assert any(e["fieldPath"] == "description" for e in again.received)
            assert {e["correlationId"] for e in again.received} == {"order-2"}
            assert sorted(states_reached(again.received)) == sorted((sid, "active") for sid in TREE)
            # each member active before the bundle, then the activation's Monitor completes
            reached = [(e["service"]["id"], e["service"]["state"]) for e in activation.received
                       if e["eventType"] == "ServiceStateChangeEvent"]
            assert reached[-1] == ("vpn-1", "active") and len(reached) == len(TREE)
            done = [i for i, e in enumerate(activation.received)
                    if e["eventType"] == "MonitorStateChangeEvent" and e["monitor"]["id"] == monitors[0]]
            assert [activation.received[i]["monitor"]["state"] for i in done] == ["Completed"]
            bundle_active = next(i for i, e in enumerate(activation.received)
                                 if e["eventType"] == "ServiceStateChangeEvent" and e["service"]["id"] == "vpn-1")
            assert done[0] > bundle_active
            await monitor.wait_for(1)
            await until_equal(monitor, lambda: _monitor_events(served, monitors[0], last_seq))
            assert monitor.received[-1]["monitor"] == {"id": monitors[0], "state": "Completed"}

            await settled(served, await served.graphql(MARK))  # then live, with nothing repeated in between
            await until_equal(again, lambda: tree_events(last_seq))
            assert again.received[-1]["event"]["service"]["description"] == "marker"
            everything_seen = first + again.received
        assert_members_first(everything_seen)
        ids = [e["eventId"] for e in everything_seen]
        assert len(ids) == len(set(ids)) and ids == await tree_events(start_seq)


async def _monitor_events(served: Served, monitor_id: str, after_seq: int) -> list[str]:
    return [e.event_id for e in await served.outbox(after_seq)
            if e.resource_type == "monitor" and e.resource_id == monitor_id]


async def test_a_member_added_later_is_in_the_tree(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served:
        outsider = {"id": "vpn-1-d", "name": "outsider", "state": "designed", "serviceSpecification": {"name": "part"}}
        await settled(served, await served.graphql(CREATE, {"input": outsider}))
        start_id, start_seq = await warm_up(served)
        await settled(served, await served.graphql(CREATE, {"input": BUNDLE}))
        grown = {*TREE, "vpn-1-c", "vpn-1-d"}

        async def tree_events() -> list[str]:  # d's events before it joined are not the tree's
            return [e.event_id for e in await served.outbox(start_seq)
                    if e.resource_type == "service" and e.resource_id in grown]

        async with subscribed(served.ws, SERVICE_CHANGED, tree="vpn-1", after=start_id,
                              types=["ServiceCreateEvent"]) as sub, \
                subscribed(served.ws, SERVICE_CHANGED, tree="vpn-1", after=start_id) as whole:
            await sub.wait_for(3)
            # A member by value, then one by reference with a state change: the engine links each to the
            # bundle only when the bundle's step succeeds, after the member's own events.
            patch = f"""mutation {{ patchService(id: "vpn-1", mergePatch: {{supportingService: [
              {{id: "vpn-1-a"}}, {{id: "vpn-1-b"}},
              {{id: "vpn-1-c", name: "late", state: "designed", serviceSpecification: {{name: "part"}}}}]}}) {{
              __typename {WORK} }} }}"""
            await settled(served, await served.graphql(patch))
            received = await sub.wait_for(4)
            reserve = f"""mutation {{ patchService(id: "vpn-1", mergePatch: {{state: reserved, supportingService: [
              {{id: "vpn-1-a"}}, {{id: "vpn-1-b"}}, {{id: "vpn-1-c"}}, {{id: "vpn-1-d"}}]}}) {{
              __typename {WORK} }} }}"""
            await settled(served, await served.graphql(reserve))
            await until_equal(whole, tree_events)  # every event of the grown tree, none of another service
        ids = [e["service"]["id"] for e in received]
        assert sorted(ids[:2]) == ["vpn-1-a", "vpn-1-b"] and ids[2:] == ["vpn-1", "vpn-1-c"]
        assert ("vpn-1-c", "designed") in states_reached(whole.received)
        reserved = [sid for sid, state in states_reached(whole.received) if state == "reserved"]
        assert sorted(reserved[:-1]) == sorted(grown - {"vpn-1"}) and reserved[-1] == "vpn-1"


BAD = [
    ({"types": ["ServiceExplodedEvent"]}, SERVICE_CHANGED, "'ServiceExplodedEvent' does not exist in 'EventType'"),
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
        start_id, start_seq = await warm_up(served)
        await warm_up(served)
        replayed = [e.event_id for e in await served.outbox(start_seq) if e.resource_type == "service"]
        # gql multiplexes every subscription of one session over one connection
        transport = WebsocketsTransport(url=served.ws, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
        async with Client(transport=transport, fetch_schema_from_transport=False) as session:
            streams = [session.subscribe(request(SERVICE_CHANGED, after=start_id))
                       for _ in range(2)]
            for stream in streams:  # each is running on the server once it has replayed the second warm-up
                for event_id in replayed:
                    result = await asyncio_wait(stream.__anext__())
                    assert result["serviceChanged"]["eventId"] == event_id
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
