"""The `tree` figure of issue #10: a 1+20+400 bundle tree with every typed TMF attribute through GraphQL
`descendants`, against the REST list of the same 421 services, side by side on one real uvicorn server.

The tree is one Service_Create document (members and their members by value, every TMF640 attribute set on
each node) stored by `tmf640 import`: inventory, no activation. Requests alternate, one at a time, GraphQL then
REST; the figure is the ratio of their median wall times. The server's CPU time per request is reported
beside it (less disturbed by other work on a shared machine).
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLType

from bench.servers import API, ROOT, cpu_seconds, free_port, process, sqlite_url

Figure = dict[str, Any]
WIDTH = 20  # members of the root, and leaves of each member: 1 + 20 + 400 services
# Fields of Service that are not TMF attributes: navigation, history, server metadata.
NOT_TMF = {"supportingServices", "bundles", "dependencies", "dependents", "descendants", "monitors", "revisions",
           "etag", "document", "nodeId"}


def node(name: str, id: str, **extra: Any) -> dict[str, Any]:
    """A service with every TMF640 v4 attribute and sub-resource set (and one attribute TMF does not define)."""
    doc: dict[str, Any] = {
        "id": id, "@type": "vCPE", "@baseType": "Service", "@schemaLocation": "https://example.invalid/vCPE.json",
        "name": name, "category": "CFS", "description": f"{name}, benchmark tree", "endDate": "2031-01-01T00:00:00Z",
        "hasStarted": False, "isBundle": False, "isServiceEnabled": True, "isStateful": True,
        "serviceDate": "2024-05-01T10:00:00Z", "serviceType": "vCPE", "startDate": "2025-01-01T00:00:00Z",
        "startMode": "automatically by the managed environment", "state": "active",
        "serviceSpecification": {"id": "spec-vcpe", "href": "https://example.invalid/spec/vcpe", "name": "vCPE",
                                 "version": "2", "@referredType": "ServiceSpecification"},
        "feature": [{
            "id": "f1", "name": "Voice", "isBundle": False, "isEnabled": True,
            "constraint": [{"id": "c1", "name": "max", "version": "1", "@referredType": "Constraint"}],
            "featureCharacteristic": [{"id": "fc1", "name": "codec", "valueType": "object", "value": [{"g711": True}],
                                       "characteristicRelationship": [{"id": "fc2", "relationshipType": "needs"}]}],
            "featureRelationship": [{"id": "f2", "name": "Data", "relationshipType": "requires",
                                     "validFor": {"startDateTime": "2025-01-01T00:00:00Z"}}],
            "policyConstraint": [{"id": "p1", "name": "fair use", "@referredType": "Policy"}],
        }],
        "note": [{"id": "n1", "author": "ops", "date": "2025-01-02T00:00:00Z", "text": "installed"}],
        "place": [{"id": "pl1", "name": "Main Home", "role": "install", "@referredType": "GeographicAddress"}],
        "relatedEntity": [{"id": "e1", "name": "router", "role": "uses", "@referredType": "Resource"}],
        "relatedParty": [{"id": "party-42", "name": "ACME", "role": "owner", "@referredType": "Organization"}],
        "serviceCharacteristic": [
            {"id": "ch1", "name": "MSISDN", "valueType": "string", "value": "415-275-7439"},
            {"name": "bandwidth", "valueType": "number", "value": 3.25},
            {"name": "profile", "value": {"deep": [{"x": 1}, None, True]}, "@type": "ProfileCharacteristic"},
        ],
        "serviceOrderItem": [{"itemId": "1", "serviceOrderId": "so-1", "role": "origin", "itemAction": "add"}],
        "supportingResource": [{"id": "r1", "name": "vm-1", "@referredType": "LogicalResource"}],
        "vcpeModel": {"vendor": "acme", "throughput": [1, 2.5]},
    }
    doc.update(extra)
    return doc


def relationship(target: str) -> dict[str, Any]:
    return {"relationshipType": "reliesOn", "service": {"id": target, "@referredType": "Service"},
            "ServiceRelationshipCharacteristic": [{"name": "order", "value": 1}]}


def tree(root: str, width: int = WIDTH) -> dict[str, Any]:
    """The root bundle, `width` member bundles of `width` leaves each; each sibling relies on the one before."""
    members = []
    for i in range(width):
        leaves = [node(f"leaf {i}.{j}", f"{root}-{i}-{j}",
                       **({"serviceRelationship": [relationship(f"{root}-{i}-{j - 1}")]} if j else {}))
                  for j in range(width)]
        members.append(node(f"member {i}", f"{root}-{i}", isBundle=True, supportingService=leaves,
                            **({"serviceRelationship": [relationship(f"{root}-{i - 1}")]} if i else {})))
    return node(f"bundle {root}", root, isBundle=True, supportingService=members)


def _named(t: GraphQLType) -> GraphQLType:
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        t = t.of_type
    return t


def selection(schema: GraphQLSchema, type_name: str, ref_depth: int = 1) -> str:
    """Every typed TMF attribute of `type_name`, nested types included (`extensions` too). ServiceRefOrValue
    nests itself: it is expanded `ref_depth` times, then only its id is selected (REST renders by-value members
    one level deep: their own members are references)."""
    gtype = schema.type_map[type_name]
    assert isinstance(gtype, GraphQLObjectType)
    parts = []
    for name, field in gtype.fields.items():
        inner = _named(field.type)
        if name in NOT_TMF or field.args or (name == "service" and type_name != "ServiceRelationship"):
            continue
        if isinstance(inner, GraphQLObjectType):
            if inner.name == "ServiceRefOrValue":
                sub = selection(schema, inner.name, ref_depth - 1) if ref_depth > 0 else "id"
            else:
                sub = selection(schema, inner.name, ref_depth)
            parts.append(f"{name} {{ {sub} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def tree_query() -> str:
    """The root and its whole tree, every typed attribute of each (one fragment, as a client writes it)."""
    from schema.build import build_schema  # the schema the server runs (bench imports no app code otherwise)

    every = selection(build_schema()._schema, "Service")
    return "query Tree($id: ID!) { service(id: $id) { ...Every descendants(maxDepth: 5) { depth parentId " \
           f"service {{ ...Every }} }} }} }} fragment Every on Service {{ {every} }}"


def _import(tmp: Path, db: Path, root: str, tree_dir: Path) -> None:
    source = tmp / f"{root}.ndjson"
    source.write_text(json.dumps(tree(root)) + "\n")
    command = [sys.executable, "-m", "app", "import", str(source), "--database-url", sqlite_url(db), "--no-progress",
               "--no-events"]
    subprocess.run(command, cwd=tree_dir, check=True, capture_output=True)


@contextlib.contextmanager
def _server(db: Path, log: Path, tree_dir: Path) -> Any:
    port = free_port()
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--database-url", sqlite_url(db)]
    with process(command, f"http://127.0.0.1:{port}/health", log, cwd=tree_dir) as started:
        yield f"http://127.0.0.1:{port}", started.pid


def _timed(pid: int, call: Any) -> tuple[float, float, httpx.Response]:
    cpu, start = cpu_seconds(pid), time.perf_counter()
    response = call()
    return time.perf_counter() - start, cpu_seconds(pid) - cpu, response


def _measure(base: str, pid: int, root: str, query: str, rounds: int) -> dict[str, Any]:
    """Alternate one GraphQL tree and one REST list, `rounds` times after one warm-up each: wall and CPU."""
    out: dict[str, Any] = {"graphql_s": [], "rest_s": [], "graphql_cpu_s": [], "rest_cpu_s": []}
    with httpx.Client(timeout=300) as client:
        def graphql() -> httpx.Response:
            return client.post(f"{base}/graphql", json={"query": query, "variables": {"id": root}})

        def rest() -> httpx.Response:
            return client.get(f"{base}{API}/service", params={"limit": str(1 + WIDTH + WIDTH * WIDTH)})

        for i in range(rounds + 1):
            g_wall, g_cpu, g = _timed(pid, graphql)
            r_wall, r_cpu, r = _timed(pid, rest)
            if i == 0:  # warm-up; and the answers are whole
                body = g.json()
                assert "errors" not in body, str(body.get("errors"))[:500]
                nodes = [body["data"]["service"], *(n["service"] for n in body["data"]["service"]["descendants"])]
                assert len(nodes) == len(r.json()) == 1 + WIDTH + WIDTH * WIDTH, (len(nodes), len(r.json()))
                out.update(services=len(nodes), graphql_bytes=len(g.content), rest_bytes=len(r.content))
                continue
            out["graphql_s"].append(g_wall)
            out["rest_s"].append(r_wall)
            out["graphql_cpu_s"].append(g_cpu)
            out["rest_cpu_s"].append(r_cpu)
    return out


def _ratio(m: dict[str, Any]) -> tuple[float, float]:
    wall = statistics.median(m["graphql_s"]) / statistics.median(m["rest_s"])
    cpu = statistics.median(m["graphql_cpu_s"]) / max(statistics.median(m["rest_cpu_s"]), 1e-9)
    return wall, cpu


def _text(m: dict[str, Any]) -> str:
    wall, cpu = _ratio(m)
    return (f"GraphQL {statistics.median(m['graphql_s']):.2f} s vs REST {statistics.median(m['rest_s']):.2f} s "
            f"= {wall:.2f}x (server CPU {cpu:.2f}x)")


def tree_figure(tmp: Path, quick: bool, against: Path | None = None) -> Figure:
    """GraphQL tree (every typed attribute) / REST list of the same 421 services, medians of alternated runs;
    `against`: another checkout measured the same way in the same run (its own server and database)."""
    rounds = 3 if quick else 10
    query = tree_query()
    trees = {"this": ROOT, **({"against": against} if against else {})}
    measured: dict[str, dict[str, Any]] = {}
    for name, tree_dir in trees.items():
        db = tmp / f"tree-{name}.db"
        subprocess.run([sys.executable, "-m", "app", "migrate", "--database-url", sqlite_url(db)], cwd=tree_dir,
                       check=True, capture_output=True)
        _import(tmp, db, "tree", tree_dir)
        with _server(db, tmp / f"tree-{name}.log", tree_dir) as (base, pid):
            measured[name] = _measure(base, pid, "tree", query, rounds)
    this = measured["this"]
    text = _text(this)
    if against is not None:
        text += f"; {against.name}: {_text(measured['against'])}"
    return {
        "figure": "tree GraphQL / REST (1+20+400, every typed attribute)",
        "target": "<= 3x",
        "value": _ratio(this)[0],
        "measured": f"{text} (median of {rounds})",
        "details": measured,
    }
