"""What a graphql-transport-ws client library relies on, spoken by hand against a real uvicorn server.

An invalid subscription is answered with an `error` message naming the problem (never a `next` carrying errors,
never a silent close); the service in an event carries the etag of the version the event describes; a tree
subscription asked for its work tells when work on the tree is accepted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from graphql import parse, validate

from schema.build import build_schema
from tests.events.support import event_settings
from tests.events.ws import Served, message, next_event, raw_subscription, serving
from tests.graphql import finished

pytestmark = pytest.mark.e2e

TREE_DOC = """
subscription Tree($tree: ID, $after: String, $types: [EventType!], $ids: [ID!]) {
  serviceChanged(treeOf: $tree, after: $after, eventTypes: $types, ids: $ids) {
    eventId eventType service { id state etag } monitor { id state }
  }
}"""
MONITORS = "subscription M($after: String) { monitorChanged(after: $after) { eventId } }"
EVENTS = "subscription E($types: [EventType!]) { events(eventTypes: $types) { eventId } }"
WORK = "... on ServicePayload { monitor { id } service { etag } } ... on Error { message }"
CREATE = f"mutation C($input: JSON!) {{ createService(input: $input) {{ __typename {WORK} }} }}"
PATCH = f"""mutation P($id: ID!, $p: JSON!) {{ patchService(id: $id, mergePatch: $p) {{ __typename {WORK} }} }}"""
BUNDLE = {
    "id": "vpn-9", "name": "vpn", "state": "designed", "isBundle": True, "serviceSpecification": {"name": "vpn"},
    "supportingService": [{"id": "vpn-9-a", "name": "a", "state": "designed", "serviceSpecification": {"name": "p"}}],
}


async def done(served: Served, payload: dict[str, Any]) -> dict[str, Any]:
    """The mutation's payload once its work is Completed."""
    assert payload["__typename"] == "ServicePayload", payload
    if payload["monitor"] is not None:
        assert (await finished(served.app, payload["monitor"]["id"]))["state"] == "Completed"
    await served.quiet()  # subscriptions opened next start after this write's events
    return payload


BAD = [
    (TREE_DOC, {"tree": "no-such-bundle"}, "treeOf", "no service with id 'no-such-bundle'"),
    (TREE_DOC, {"after": "no-such-event"}, "after", "no event with id 'no-such-event'"),
    (MONITORS, {"after": "x" * 300}, "after", "no event with id"),
    (TREE_DOC, {"types": ["MonitorCreateEvent"]}, "eventTypes[0]", "unknown event type 'MonitorCreateEvent'"),
    (TREE_DOC, {"types": ["ServiceExplodedEvent"]}, None, "'ServiceExplodedEvent' does not exist in 'EventType'"),
    (EVENTS, {"types": ["NoSuchEvent"]}, None, "'NoSuchEvent' does not exist in 'EventType'"),
]


@pytest.mark.parametrize(("document", "variables", "path", "text"), BAD)
async def test_an_invalid_subscription_gets_an_error_message_naming_it(
    database_url: str, document: str, variables: dict[str, Any], path: str | None, text: str
) -> None:
    async with serving(event_settings(database_url)) as served, \
            raw_subscription(served.ws, document, **variables) as ws:
        answer = await message(ws)
        assert answer["type"] == "error" and answer["id"] == "1", answer
        (error,) = answer["payload"]
        assert text in error["message"], error
        if path is not None:
            assert error["extensions"] == {"code": "ValidationFailed", "path": path}, error
        # the connection stays usable: another subscription on it runs
        await ws.send('{"id":"2","type":"subscribe","payload":{"query":"subscription { events { eventId } }"}}')
        await served.graphql(CREATE, {"input": {"name": "after-error", "state": "designed",
                                                "serviceSpecification": {"name": "s"}}})
        answer = await message(ws)
        assert answer["type"] == "next" and answer["id"] == "2", answer


async def test_the_service_in_an_event_carries_its_etag(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served:
        first = {"id": "etag-1", "name": "e", "state": "designed", "serviceSpecification": {"name": "s"}}
        created = await done(served, (await served.graphql(CREATE, {"input": first}))["createService"])
        async with raw_subscription(served.ws, TREE_DOC, ids=["etag-1"]) as ws:
            patched = await done(served, (await served.graphql(PATCH, {"id": "etag-1", "p": {"description": "d"}}))[
                "patchService"])
            event = await next_event(ws)
        current = (await served.graphql('{ service(id: "etag-1") { etag } }'))["service"]["etag"]
        assert event["eventType"] == "ServiceAttributeValueChangeEvent"
        assert event["service"]["etag"] == current == patched["service"]["etag"] != created["service"]["etag"]
        # the etag is usable at once: a write guarded by it is accepted
        guarded = await served.graphql('mutation($e: String) { patchService(id: "etag-1", ifMatch: $e, '
                                       'mergePatch: {description: "again"}) { __typename } }', {"e": current})
        assert guarded["patchService"]["__typename"] == "ServicePayload", guarded


async def test_a_tree_subscription_tells_when_work_on_the_tree_is_accepted(database_url: str) -> None:
    async with serving(event_settings(database_url)) as served:
        await done(served, (await served.graphql(CREATE, {"input": BUNDLE}))["createService"])
        types = ["MonitorCreateEvent", "MonitorStateChangeEvent", "ServiceStateChangeEvent"]
        async with raw_subscription(served.ws, TREE_DOC, tree="vpn-9", types=types) as ws, \
                raw_subscription(served.ws, TREE_DOC, tree="vpn-9") as plain:
            work = (await served.graphql(PATCH, {"id": "vpn-9-a", "p": {"state": "reserved"}}))["patchService"]
            await done(served, work)
            accepted = await next_event(ws)
            assert accepted["eventType"] == "MonitorCreateEvent", accepted
            assert accepted["monitor"]["id"] == work["monitor"]["id"]
            assert accepted["service"]["id"] == "vpn-9-a" and accepted["service"]["etag"] == ""
            seen = [accepted]
            while seen[-1]["eventType"] != "MonitorStateChangeEvent":
                seen.append(await next_event(ws))
            assert seen[-1]["monitor"] == {"id": work["monitor"]["id"], "state": "Completed"}
            assert ("vpn-9-a", "reserved") in [(e["service"]["id"], e["service"]["state"]) for e in seen]
            # without asking for it, a tree subscription reports service events only, as before
            first = await next_event(plain)
            assert first["monitor"] is None and first["eventType"].startswith("Service"), first


def test_the_subscription_examples_of_the_guide_are_valid() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "graphql.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```graphql subscription\n(.*?)```", guide, re.S)
    assert len(blocks) >= 2
    schema = build_schema()._schema
    for block in blocks:
        document = re.sub(r"#[^\n]*", "", block).replace('"3f0c..."', '"3f0c"')
        assert validate(schema, parse(document)) == [], block
