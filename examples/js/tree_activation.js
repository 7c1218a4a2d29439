// A portal client in JavaScript: queries and mutations over HTTP, the subscription with `graphql-ws`
// (graphql-transport-ws). Create a bundle (typed input), subscribe to its tree, activate it, and follow the stream until every service
// is active.
//
//   node examples/js/tree_activation.js http://127.0.0.1:8640 [bundle-id]
//
// The packages are vendored in node_modules/ (no install step): graphql-ws's client and `ws`, the WebSocket
// implementation for node versions without a global WebSocket. In a project of your own: npm install graphql-ws ws.
"use strict";

const { createClient } = require("./node_modules/graphql-ws/lib/client.js"); // = require("graphql-ws")
const WebSocket = require("ws");

const base = (process.argv[2] || "http://127.0.0.1:8640").replace(/\/$/, "");
const root = process.argv[3] || `js-${Math.random().toString(16).slice(2, 10)}`;
const client = createClient({
  url: `${base.replace(/^http/, "ws")}/graphql`,
  webSocketImpl: WebSocket,
});

// Queries and mutations over HTTP (node's fetch); the subscription over the WebSocket.
async function once(query, variables) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const CREATE = `mutation Create($service: ServiceCreateInput!) {
  createService(service: $service) { __typename ... on ServicePayload { service { id nodeId } } ... on Error { message } }
}`;
const TREE = `query Tree($id: ID!) { service(id: $id) { id state descendants { service { id state } } } }`;
const ACTIVATE = `mutation Activate($id: ID!) {
  activateService(id: $id, policy: atomic) { __typename ... on ServicePayload { monitor { id } } ... on Error { message } }
}`;
const CHANGES = `subscription Changes($id: ID!) {
  serviceChanged(treeOf: $id, eventTypes: [ServiceStateChangeEvent]) { eventId service { id state } }
}`;

async function designed() {
  const tree = (await once(TREE, { id: root })).service;
  return [tree, ...tree.descendants.map((d) => d.service)].every((s) => s.state === "designed");
}

async function main() {
  const members = [1, 2, 3].map((i) => ({ id: `${root}-m${i}`, name: `member ${i}`, serviceSpecification: { id: "leaf" } }));
  const service = { id: root, name: "example bundle", state: "designed", isBundle: true,
    serviceSpecification: { id: "bundle", name: "bundle" }, supportingService: members };
  const created = (await once(CREATE, { service })).createService;
  if (created.__typename !== "ServicePayload") throw new Error(JSON.stringify(created));
  console.log("created", created.service.id, "node", created.service.nodeId);

  const waiting = new Set([root, ...members.map((m) => m.id)]);
  const done = new Promise((resolve, reject) => {
    const stop = client.subscribe({ query: CHANGES, variables: { id: root } }, {
      next: ({ data, errors }) => {
        if (errors) { reject(new Error(JSON.stringify(errors))); return; }
        const s = data.serviceChanged.service;
        console.log("event", s.id, s.state);
        if (s.state === "active") waiting.delete(s.id);
        if (waiting.size === 0) { stop(); resolve(); }
      },
      error: reject,
      complete: () => {},
    });
  });
  for (let i = 0; i < 300 && !(await designed()); i++) await new Promise((r) => setTimeout(r, 200)); // bounded
  const started = (await once(ACTIVATE, { id: root })).activateService;
  if (started.__typename !== "ServicePayload") throw new Error(JSON.stringify(started));
  console.log("activation", started.monitor.id);
  await done;
  console.log("all active");
  client.terminate(); // nothing is left to receive: close without waiting for the server's close frame
}

main().catch((err) => { console.error(err); process.exit(1); });
