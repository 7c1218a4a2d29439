"""A filtered, sorted, paged list costs the same few SQL statements on a store of 60 and one of 1,200 services.

Statements are counted with SQLAlchemy's `before_cursor_execute` event on the app's own engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inventory import Inventory, generate, seeded_database, serving
from tests.sqlcount import counting

API = "/tmf-api/serviceActivationAndConfiguration/v4"
# Projected and indexed filters, a regex, a date, a sort on two keys, a page from the middle; the page
# holds bundles, whose members given by value are rendered inline (one more statement, not one per member).
QUERIES = (
    "isBundle=true&state=active,inactive,designed,reserved,feasibilityChecked,terminated"
    "&relatedParty.role=~.&startDate.gte=2024-01-01T00:00:00%2B01:00&sort=name,-startDate&offset=1&limit=3",
    "serviceCharacteristic.name=speed&name*=a&sort=-startDate&offset=2&limit=4",
)
# BEGIN (SQLite), count, page, members by value, work under way (`x-activation`): nothing grows with the store
BOUND = 6


@pytest.fixture
def small_store(request: pytest.FixtureRequest, inventory: Inventory, tmp_path: Path) -> Iterator[str]:
    """60 generated services on the inventory's backend."""
    with seeded_database(request, inventory.backend, tmp_path, generate(60, seed=7)) as url:
        yield url


async def statements_for(url: str, query: str) -> tuple[list[str], int]:
    """The statements one GET of `query` runs, and its X-Total-Count."""
    async with serving(url) as (app, client):
        with counting(app.state.resolvers.store.db.engine) as seen:
            response = await client.get(f"{API}/service?{query}")
        assert response.status_code == 206, response.text
        return seen, int(response.headers["X-Total-Count"])


@pytest.mark.parametrize("query", QUERIES, ids=["bundles", "characteristics"])
async def test_paged_list_costs_constant_statements(query: str, inventory: Inventory, small_store: str) -> None:
    small, small_total = await statements_for(small_store, query)
    large, large_total = await statements_for(inventory.url, query)
    assert large_total > 10 * small_total > 0  # the stores differ a lot in what matches
    assert len(small) == len(large), "\n".join(["small:", *small, "large:", *large])
    assert 0 < len(large) <= BOUND, "\n".join(large)
