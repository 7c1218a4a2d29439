// A portal client in JavaScript with `graphql-ws` (graphql-transport-ws): every operation over one WebSocket.
// Create a bundle (typed input), subscribe to its tree, activate it, and follow the stream until every service
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
const client = createClient({ url: `${base.replace(/^http/, "ws")}/graphql`, webSocketImpl: WebSocket });

function once(query, variables) {
  return new Promise((resolve, reject) => {
    let result;
    client.subscribe({ query, variables }, {
      next: (value) => (result = value),
      error: reject,
      complete: () => (result && result.errors ? reject(new Error(JSON.stringify(result.errors))) : resolve(result.data)),
    });
  });
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
  await client.dispose();
}

main().catch((err) => { console.error(err); process.exit(1); });
