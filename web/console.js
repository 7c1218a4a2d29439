// The TMF640 console: plain JavaScript, no build step. Every call goes through this server's /graphql
// (queries and mutations over HTTP, subscriptions over graphql-transport-ws with the vendored graphql-ws client),
// so whatever protects the API protects the console.
"use strict";

const $ = (sel) => document.querySelector(sel);
const endpoint = new URL("/graphql", window.location.href).href;
// The API key (or bearer token) the user typed, kept for this tab only; none on a development server.
const credential = () => sessionStorage.getItem("tmf640.key") || "";
const authHeader = () => (credential() ? { Authorization: `Bearer ${credential()}` } : {});
const ws = graphqlWs.createClient({
  url: endpoint.replace(/^http/, "ws"),
  lazy: true,
  connectionParams: () => authHeader(),
  retryAttempts: 5,
  on: { connected: () => setLive("on"), closed: () => setLive("off") },
});
let current = null;       // the open tree: {id, stop: [unsubscribe functions]}
let monitorStop = null;   // the monitor subscription of the last work started here

function setLive(text) { $("#live").textContent = text; }

function keepKey(event) {
  event.preventDefault();
  sessionStorage.setItem("tmf640.key", $("#key").value.trim());
  ws.terminate();  // the next subscription connects again with the new credential
  search();
}

async function gql(query, variables) {
  const response = await fetch(endpoint, {
    method: "POST", credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json", ...authHeader() },
    body: JSON.stringify({ query, variables: variables || {} }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

function subscribe(query, variables, onData) {
  return ws.subscribe({ query, variables }, {
    next: (result) => result.data ? onData(result.data) : say(JSON.stringify(result.errors), true),
    error: (err) => say(`subscription: ${err && err.message ? err.message : JSON.stringify(err)}`, true),
    complete: () => {},
  });
}

function say(text, isError) {
  const message = $("#message");
  message.textContent = text;
  message.className = isError ? "error" : "";
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => (k === "class" ? (node.className = v) : node.setAttribute(k, v)));
  children.forEach((c) => node.append(c));
  return node;
}

// ---- search -----------------------------------------------------------------------------------------------

const SEARCH = `query Search($filter: ServiceFilter) {
  services(filter: $filter, sort: [{field: name}], first: 50) {
    totalCount nodes { id name state isBundle }
  }
}`;

async function search(event) {
  if (event) event.preventDefault();
  const filter = {};
  const q = $("#q").value.trim();
  if (q) filter.nameMatches = q;
  if ($("#bundles").checked) filter.isBundle = true;
  try {
    const data = await gql(SEARCH, { filter });
    const list = $("#results");
    list.replaceChildren(...data.services.nodes.map((s) => {
      const item = el("li", { "data-id": s.id, class: "result" }, `${s.name || "(no name)"} `,
        el("span", { class: `state ${s.state || "none"}` }, s.state || "no state"), el("span", { class: "muted" }, ` ${s.id}`));
      item.addEventListener("click", () => openTree(s.id));
      return item;
    }));
    if (!data.services.nodes.length) list.append(el("li", { class: "muted" }, "no match"));
  } catch (err) { say(err.message, true); }
}

// ---- the tree ---------------------------------------------------------------------------------------------

const TREE = `query Tree($id: ID!) {
  service(id: $id) {
    id name state isBundle document
    descendants(maxDepth: 20) { depth parentId service { id name state document } }
    monitors { id state outcome }
  }
}`;

function nodeItem(s) {
  const busy = s.document && s.document["x-activation"] ? " busy" : "";
  return el("li", { "data-node": s.id },
    el("span", { class: `node${busy}` }, el("b", {}, s.name || s.id),
      el("span", { class: `state ${s.state || "none"}`, "data-state": s.state || "" }, s.state || "no state"),
      el("span", { class: "muted" }, s.id)),
    el("ul", {}));
}

function drawTree(root) {
  const top = nodeItem(root);
  const items = { [root.id]: top };
  root.descendants.forEach((d) => {
    const item = nodeItem(d.service);
    items[d.service.id] = item;
    (items[d.parentId] || top).querySelector(":scope > ul").append(item);
  });
  $("#tree").replaceChildren(top);
}

function setState(id, state, busy) {
  document.querySelectorAll(`[data-node="${CSS.escape(id)}"] > .node`).forEach((node) => {
    const badge = node.querySelector(".state");
    badge.textContent = state || "no state";
    badge.dataset.state = state || "";
    badge.className = `state ${state || "none"}`;
    node.classList.toggle("busy", !!busy);
  });
}

async function openTree(id) {
  if (current) current.stop.forEach((stop) => stop());
  current = { id, stop: [] };
  try {
    const data = await gql(TREE, { id });
    if (!data.service) { say(`no service ${id}`, true); return; }
    $("#empty").hidden = true;
    $("#detail").hidden = false;
    $("#title").textContent = `${data.service.name || ""} (${id})`;
    drawTree(data.service);
    say("");
    const last = data.service.monitors[data.service.monitors.length - 1];
    if (last) watchMonitor(last.id);
    // Live: every change of the bundle or any service below it (members added later included).
    current.stop.push(subscribe(`subscription Tree($id: ID!) {
      serviceChanged(treeOf: $id) { eventType service { id state document } }
    }`, { id }, (d) => {
      const s = d.serviceChanged.service;
      if ($(`[data-node="${CSS.escape(s.id)}"]`)) setState(s.id, s.state, s.document && s.document["x-activation"]);
      else if (current && current.id === id) refreshTree();
    }));
  } catch (err) { say(err.message, true); }
}

async function refreshTree() {
  if (!current) return;
  const data = await gql(TREE, { id: current.id });
  if (data.service) drawTree(data.service);
}

// ---- work: activation, change, monitor ---------------------------------------------------------------------

const PAYLOAD = `__typename ... on Error { message }
  ... on ServicePayload { service { id state } monitor { id } }`;

async function run(mutation, variables) {
  try {
    const data = await gql(mutation, variables);
    const result = Object.values(data)[0];
    if (result.__typename !== "ServicePayload") { say(`${result.__typename}: ${result.message}`, true); return; }
    if (result.monitor) {
      say(`work started: monitor ${result.monitor.id}`);
      watchMonitor(result.monitor.id);
    } else say("nothing to do");
  } catch (err) { say(err.message, true); }
}

function verb(name) {
  const policy = $("#policy").value || null;
  run(`mutation Verb($id: ID!, $policy: ActivationPolicy) {
    ${name}Service(id: $id, policy: $policy) { ${PAYLOAD} } }`, { id: current.id, policy });
}

function change() {
  let patch;
  try { patch = JSON.parse($("#patch").value); } catch (err) { say(`not JSON: ${err.message}`, true); return; }
  const policy = $("#policy").value || null;
  run(`mutation Change($id: ID!, $patch: JSON!, $policy: ActivationPolicy) {
    patchService(id: $id, mergePatch: $patch, policy: $policy) { ${PAYLOAD} } }`, { id: current.id, patch, policy });
}

const MONITOR_FIELDS = "id state outcome members { serviceId action status state error }";

function drawMonitor(m) {
  $("#monitor-id").textContent = `${m.id} · ${m.state} · ${m.outcome || ""}`;
  $("#monitor tbody").replaceChildren(...m.members.map((x) => el("tr", { "data-member": x.serviceId },
    el("td", {}, x.serviceId), el("td", {}, x.action || "—"), el("td", { class: x.status || "" }, x.status || ""),
    el("td", {}, x.state || ""), el("td", { class: "error" }, x.error || ""))));
  if (m.state !== "InProgress") { refreshTree(); loadWork(); }
}

async function watchMonitor(id) {
  if (monitorStop) monitorStop();
  monitorStop = subscribe(`subscription Monitor($id: ID!) { monitorChanged(id: $id) { monitor { ${MONITOR_FIELDS} } } }`,
    { id }, (d) => drawMonitor(d.monitorChanged.monitor));
  // The subscription follows from now on; read the monitor once too, in case the work moved before it started.
  const data = await gql(`query M($id: ID!) { monitor(id: $id) { ${MONITOR_FIELDS} } }`, { id });
  if (data.monitor) drawMonitor(data.monitor);
}

// ---- held work and failures --------------------------------------------------------------------------------

const WORK = `query Work {
  open: monitors(filter: {states: [InProgress]}, last: 20) {
    nodes { id sourceHref outcome held heldReason jeopardy service { id name } }
  }
  failed: monitors(filter: {states: [InError]}, last: 20) {
    nodes { id outcome service { id name } members { serviceId status error } }
  }
}`;

function monitorItem(m, detail) {
  const item = el("li", {}, `${m.service ? m.service.name || m.service.id : m.id} `,
    el("span", { class: "muted" }, `${m.outcome || ""} · ${m.id}`), detail || "");
  item.addEventListener("click", () => { if (m.service) openTree(m.service.id).then(() => watchMonitor(m.id)); });
  return item;
}

async function loadWork() {
  try {
    const data = await gql(WORK);
    $("#work").replaceChildren(...data.open.nodes.map((m) => monitorItem(m, m.held
      ? el("div", { class: "error" }, `held: ${m.heldReason || "waiting for an operator"}`)
      : (m.jeopardy ? el("div", { class: "error" }, "in jeopardy: running longer than expected") : ""))));
    $("#failures").replaceChildren(...data.failed.nodes.map((m) => monitorItem(m, el("div", { class: "error" },
      m.members.filter((x) => x.error).map((x) => `${x.serviceId}: ${x.error}`).join("; ")))));
  } catch (err) { say(err.message, true); }
}

$("#auth").addEventListener("submit", keepKey);
$("#key").value = credential();
$("#search").addEventListener("submit", search);
$("#refresh-work").addEventListener("click", loadWork);
$("#apply").addEventListener("click", change);
document.querySelectorAll("#actions button[data-verb]").forEach((b) => b.addEventListener("click", () => verb(b.dataset.verb)));
search();
loadWork();
