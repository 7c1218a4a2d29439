"""A whole bundle tree with every TMF attribute in one request, for a number of SQL statements that depends
on the depth of the tree, not on its breadth (loaders batch each level)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from resolvers.api import Resolvers
from resolvers.bulk import BulkImport, Item
from resolvers.context import RequestContext
from tests.documents import bundle_tree
from tests.graphql import assert_typed_matches, done, ok, tmf_selection
from tests.sqlcount import counting as count_statements

API = "/tmf-api/serviceActivationAndConfiguration/v4"

NODE = f"""
  {tmf_selection("Service", ref_depth=1)}
  id etag extensions
  revisions {{ version operation at actor correlationId state }}
  monitors {{ id state }}
  bundles {{ id }}
  dependencies {{ relationshipType service {{ id name }} }}
  dependents {{ relationshipType service {{ id }} }}
"""

TREE = f"""
query Tree($id: ID!) {{
  service(id: $id) {{
    {NODE}
    supportingServices {{
      {NODE}
      supportingServices {{ {NODE} }}
    }}
    descendants(maxDepth: 5) {{ depth parentId service {{ id name state }} }}
  }}
}}
"""


@contextmanager
def counting(app: Starlette) -> Iterator[list[str]]:
    """Every SQL statement the request in this task sends while the block runs."""
    with count_statements(app.state.resolvers.store.db.engine) as statements:
        yield statements


async def _build(app: Starlette, prefix: str, width: int, leaves: int) -> None:
    resolvers: Resolvers = app.state.resolvers
    # One design step per service (421 for the large tree) on a shared machine: a generous bound, not a sleep.
    await done(app, await resolvers.services.create(RequestContext(base_url="http://testserver"),
                                                    bundle_tree(prefix, width, leaves)), seconds=300)


async def _build_done(app: Starlette, prefix: str, width: int, leaves: int) -> None:
    """The tree stored as `tmf640 import` stores it (one transaction, no events): the cost test reads the tree,
    it has no use for the 1 + width + width * leaves design steps that lead there
    (`test_tree_nodes_carry_every_attribute...` goes through the engine)."""
    importer = BulkImport(app.state.resolvers.services, emit_events=False)
    ctx = RequestContext(base_url="http://testserver")  # the anonymous caller's tenant
    outcome = await importer.store_batch(ctx, [Item(1, bundle_tree(prefix, width, leaves))])
    assert outcome.stored == 1 + width + width * leaves and not outcome.bad, outcome


async def _query(app: Starlette, client: httpx.AsyncClient, prefix: str, query: str = TREE) -> tuple[list[str], Any]:
    # The work is done; stop the runner so that its polling is not counted with the query's statements.
    await app.state.resolvers.engine.runner.stop()
    with counting(app) as statements:
        data = await ok(client, query, {"id": prefix})
    return statements, data["service"]


async def _tree(
    app: Starlette, client: httpx.AsyncClient, prefix: str, width: int, leaves: int, query: str = TREE
) -> tuple[list[str], Any]:
    await _build(app, prefix, width, leaves)
    return await _query(app, client, prefix, query)


def _nodes(root: dict[str, Any]) -> list[dict[str, Any]]:
    out = [root]
    for member in root["supportingServices"]:
        out.append(member)
        out.extend(member["supportingServices"])
    return out


async def test_tree_cost_depends_on_depth_not_breadth(app: Starlette, client: httpx.AsyncClient) -> None:
    await _build_done(app, "small", 10, 10)
    await _build_done(app, "large", 20, 20)
    small_cost, small = await _query(app, client, "small")
    large_cost, large = await _query(app, client, "large")

    assert len(_nodes(small)) == 1 + 10 + 100
    assert len(_nodes(large)) == 1 + 20 + 400
    assert len(large["descendants"]) == 20 + 400
    # A handful of lookups per level, not one per service. The exact number moves a little with timing: a
    # loader batches the keys asked for within one turn of the event loop, and on SQLite reads finish in
    # worker threads, so two levels' batches may merge or one level's split (a clean-clone CI run once
    # counted 40 and 44 statements). One lookup per service anywhere in the tree would add at least 10 (the
    # large tree has 10 more members and 300 more leaves), so the bound below still catches it.
    small, large = _queries(small_cost), _queries(large_cost)
    assert 0 < len(large) <= 30, large
    assert abs(len(large) - len(small)) <= 3, (len(small), len(large))


def _queries(statements: list[str]) -> list[str]:
    """The statements that read something (SQLite also counts each read transaction's BEGIN)."""
    return [st for st in statements if not st.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]


async def test_tree_nodes_carry_every_attribute_as_rest_renders_it(app: Starlette, client: httpx.AsyncClient) -> None:
    _, root = await _tree(app, client, "t", 3, 2, TREE.replace("id etag extensions", "id etag extensions document"))
    for node in _nodes(root):
        rest = (await client.get(f"{API}/service/{node['id']}")).json()
        assert node["document"] == rest
        assert_typed_matches({k: v for k, v in node.items() if k != "supportingServices"}, rest, node["id"])
        assert node["extensions"] == {"vcpeModel": {"vendor": "acme", "throughput": [1, 2.5]}}
        assert [r["operation"] for r in node["revisions"]] == ["create", "state"]  # the state a driver reached
        assert node["etag"] == '"2"'
    member = root["supportingServices"][1]
    assert [d["service"]["id"] for d in member["dependencies"]] == ["t-0"]
    assert member["dependencies"][0]["relationshipType"] == "dependsOn"
    assert [d["service"]["id"] for d in root["supportingServices"][0]["dependents"]] == ["t-1"]
    assert [b["id"] for b in member["bundles"]] == ["t"]
    leaf = member["supportingServices"][1]
    assert leaf["serviceRelationship"][0]["serviceRelationshipCharacteristic"][0] == {
        "type": None, "baseType": None, "schemaLocation": None, "extensions": None, "id": None,
        "name": "order", "valueType": None, "value": 1,
        "characteristicRelationship": None,
    }
    assert [(n["depth"], n["parentId"], n["service"]["id"]) for n in root["descendants"]] == [
        (1, "t", "t-0"), (2, "t-0", "t-0-0"), (2, "t-0", "t-0-1"),
        (1, "t", "t-1"), (2, "t-1", "t-1-0"), (2, "t-1", "t-1-1"),
        (1, "t", "t-2"), (2, "t-2", "t-2-0"), (2, "t-2", "t-2-1"),
    ]
