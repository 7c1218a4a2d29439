"""A portal client in Python with `gql`: create a bundle (typed input), query its tree, subscribe to the tree
(graphql-transport-ws), activate it and follow the stream until every service is active.

    python examples/python/tree_activation.py http://127.0.0.1:8640 [bundle-id]
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

from gql import Client, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

CREATE = gql("""
mutation Create($service: ServiceCreateInput!) {
  createService(service: $service) {
    __typename
    ... on ServicePayload { service { id nodeId } monitor { id } }
    ... on Error { message }
  }
}""")
TREE = gql("""
query Tree($id: ID!) {
  service(id: $id) { id name state descendants { depth service { id name state } } }
}""")
ACTIVATE = gql("""
mutation Activate($id: ID!) {
  activateService(id: $id, policy: atomic) {
    __typename ... on ServicePayload { monitor { id } } ... on Error { message }
  }
}""")
CHANGES = gql("""
subscription Changes($id: ID!) {
  serviceChanged(treeOf: $id, eventTypes: [ServiceStateChangeEvent]) {
    eventId service { id state }
  }
}""")


async def main(base: str, root: str) -> None:
    http = Client(transport=HTTPXAsyncTransport(url=f"{base}/graphql", timeout=60), fetch_schema_from_transport=False)
    ws_url = base.replace("http", "ws", 1) + "/graphql"
    transport = WebsocketsTransport(url=ws_url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
                                    close_timeout=2)  # leaving: do not wait long for the closing handshake
    ws = Client(transport=transport, fetch_schema_from_transport=False)
    members = [{"id": f"{root}-m{i}", "name": f"member {i}", "serviceSpecification": {"id": "leaf"}}
               for i in range(1, 4)]
    service = {"id": root, "name": "example bundle", "state": "designed", "isBundle": True,
               "serviceSpecification": {"id": "bundle", "name": "bundle"}, "supportingService": members}
    async with http as session, ws as live:
        created = (await session.execute(CREATE, variable_values={"service": service}))["createService"]
        assert created["__typename"] == "ServicePayload", created
        print("created", created["service"]["id"], "node", created["service"]["nodeId"])
        # Follow the tree: every state change of the bundle and its members, from now on.
        stream = live.subscribe(CHANGES, variable_values={"id": root})
        first = asyncio.ensure_future(anext(stream))  # sends the subscribe message
        for _ in range(300):  # the design work: a query is enough to see it finish (bounded)
            if await _designed(session, root):
                break
            await asyncio.sleep(0.2)
        started = (await session.execute(ACTIVATE, variable_values={"id": root}))["activateService"]
        assert started["__typename"] == "ServicePayload", started
        print("activation", started["monitor"]["id"])
        waiting = {root, *(m["id"] for m in members)}
        event = await first
        while True:
            changed = event["serviceChanged"]["service"]
            print("event", changed["id"], changed["state"])
            if changed["state"] == "active":
                waiting.discard(changed["id"])
            if not waiting:
                break
            event = await anext(stream)
    print("all active")


async def _designed(session: Any, root: str) -> bool:
    tree = (await session.execute(TREE, variable_values={"id": root}))["service"]
    return all(s["state"] == "designed" for s in [tree, *(d["service"] for d in tree["descendants"])])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1].rstrip("/"), sys.argv[2] if len(sys.argv) > 2 else f"py-{uuid.uuid4().hex[:8]}"))
