"""Several processes on one PostgreSQL: each serves its own series, labelled with its own `process`."""

from __future__ import annotations

import httpx
import pytest

from tests.events.test_e2e_two_processes import API, Process, pair  # noqa: F401  (the fixture)
from tests.ops.test_metrics import scrape, value

pytestmark = pytest.mark.e2e


def test_each_process_has_its_own_labelled_series(pair: tuple[Process, Process]) -> None:  # noqa: F811
    a, b = pair
    created = httpx.post(f"{b.url}{API}/service", timeout=30, json={
        "name": "on-b", "state": "designed", "serviceSpecification": {"name": "s"}})
    assert created.status_code == 201, created.text
    scraped = {p.url: scrape(httpx.get(f"{p.url}/metrics", timeout=30).text) for p in (a, b)}
    labels = {url: {dict(ls)["process"] for (n, ls) in s if n == "tmf640_outbox_lag_events"}
              for url, s in scraped.items()}
    assert all(len(found) == 1 for found in labels.values()) and labels[a.url] != labels[b.url]
    assert str(b.proc.pid) in next(iter(labels[b.url]))
    posts = {url: value(s, "tmf640_http_requests_total", method="POST", route=f"{API}/service")
             for url, s in scraped.items()}
    assert posts == {a.url: 0, b.url: 1}
