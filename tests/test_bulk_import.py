"""`tmf640 import`: 10,000 services from NDJSON with bad lines mixed in, a re-run that stores nothing twice, the
events of the import, `--strict`, JSON arrays, and the quick validator agreeing with the full one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.cli_import import run_import
from app.settings import Settings
from resolvers.rules import patching
from resolvers.rules.errors import ValidationFailed
from resolvers.rules.validation import validate
from store.db import Database
from store.tables import event_outbox, service, service_revision

N = 10_000
NOT_JSON = {997 * k for k in range(1, 11)}  # line numbers of lines that are not JSON
NO_SPEC = {1_500 * k + 1 for k in range(1, 7)}  # Service_Create documents without serviceSpecification


def document(i: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": f"svc-{i}", "state": ("designed", "active", "inactive")[i % 3],
        "serviceSpecification": {"id": f"spec-{i % 5}"},
        "relatedParty": [{"id": f"party-{i % 50}", "role": "customer"}],
        "serviceCharacteristic": [{"name": "MSISDN", "value": f"+44700{i:06d}"}],
    }
    if i % 2:
        doc["id"] = f"imported-{i}"  # kept; the others get an id derived from their content
    if i % 1000 == 0:  # a bundle with a member given by value
        doc["isBundle"] = True
        doc["supportingService"] = [{"name": f"member-{i}", "serviceSpecification": {"name": "Member"}}]
    return doc


def write_file(path: Path) -> tuple[int, set[int]]:
    """The file, the number of services it holds (members included) and the numbers of its bad lines."""
    services = 0
    with path.open("w") as out:
        for line in range(1, N + 1):
            if line in NOT_JSON:
                out.write("{this is not json\n")
                continue
            doc = document(line)
            if line in NO_SPEC:
                doc.pop("serviceSpecification")
            else:
                services += 1 + len(doc.get("supportingService", []))
            out.write(json.dumps(doc) + "\n")
    return services, NOT_JSON | NO_SPEC


async def counts(url: str) -> tuple[int, int, list[str]]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            services = (await conn.execute(select(func.count()).select_from(service))).scalar_one()
            revisions = (await conn.execute(select(func.count()).select_from(service_revision))).scalar_one()
            events = list((await conn.execute(
                select(event_outbox.c.resource_id).where(event_outbox.c.event_type == "ServiceCreateEvent")
            )).scalars())
    finally:
        await db.dispose()
    return services, revisions, events


async def _import(url: str, path: Path, **options: Any) -> tuple[int, int, list[tuple[int, str]]]:
    given = {"strict": False, "events": True, "progress": False, "batch_size": 500,
             "base_url": "http://tmf.example", "correlation_id": "import-test", **options}
    return await run_import(path, Settings(database_url=url), **given)


async def test_import_of_10000_with_bad_lines_then_a_rerun_stores_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "services.ndjson"
    expected, bad_lines = write_file(path)
    stored, present, bad = await _import(database_url, path)
    assert stored == expected
    assert present == 0
    assert [number for number, _ in bad] == sorted(bad_lines)
    messages = dict(bad)
    assert all(messages[n].startswith("not JSON") for n in NOT_JSON)
    assert all(messages[n] == "serviceSpecification: is required" for n in NO_SPEC)

    services, revisions, events = await counts(database_url)
    assert services == revisions == expected
    assert len(events) == len(set(events)) == expected  # one ServiceCreateEvent per service, members included
    assert {"imported-1", "imported-9999"} <= set(events)

    again = await _import(database_url, path)
    assert again[0] == 0
    assert again[1] == N - len(bad_lines)  # every good document found already stored, by its kept id
    assert await counts(database_url) == (services, revisions, events)


async def test_events_can_be_left_out_and_strict_stops_at_the_first_bad_line(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "strict.ndjson"
    lines = [json.dumps(document(1)), json.dumps(document(3)), "[1, 2", json.dumps(document(5))]
    path.write_text("\n".join(lines) + "\n")
    stored, present, bad = await _import(database_url, path, strict=True, events=False, batch_size=2)
    assert (stored, present) == (2, 0)
    assert [n for n, _ in bad] == [3]
    services, _, events = await counts(database_url)
    assert services == 2 and events == []


async def test_a_json_array_is_read_and_reported_by_position(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "services.json"
    path.write_text(json.dumps([document(1), {"name": "no spec", "state": "designed"}, document(4), "text"]))
    stored, present, bad = await _import(database_url, path)
    assert (stored, present) == (2, 0)
    assert bad == [(2, "serviceSpecification: is required"),
                   (4, "a Service_Create document must be a JSON object")]


SAMPLES: list[Any] = [
    document(1), document(1000),
    {"state": "designed"},
    {"state": "nonsense", "serviceSpecification": {"name": "x"}},
    {"state": "active", "serviceSpecification": {}},
    {"state": "active", "serviceSpecification": {"name": "x"}, "startDate": "yesterday"},
    {"state": "active", "serviceSpecification": {"name": "x"}, "startDate": 7},
    {"state": "active", "serviceSpecification": {"name": "x"}, "isBundle": "yes"},
    {"state": "active", "serviceSpecification": {"name": "x"}, "relatedParty": [{"role": "owner"}]},
    {"state": "active", "serviceSpecification": {"name": "x"}, "serviceCharacteristic": [{"value": 1}]},
    {"state": "active", "serviceSpecification": {"name": "x"}, "note": [{"text": 5}]},
    {"state": "active", "serviceSpecification": {"name": "x"}, "name": "nul\x00"},
    {"state": "active", "serviceSpecification": {"name": "x"}, "unknown": {"deep": [1, {"x": None}]}},
]


@pytest.mark.parametrize("doc", SAMPLES)
def test_the_quick_validator_agrees_with_the_full_one(doc: Any) -> None:
    def outcome(quick: bool) -> str | None:
        try:
            validate("Service_Create", doc, quick=quick)
        except ValidationFailed as exc:
            return exc.message
        return None

    assert outcome(True) == outcome(False)


@pytest.mark.parametrize("doc", [*SAMPLES[:2], {"a/b": 1, "c~": {"x": [1]}, "": None}])
def test_the_creation_patch_is_the_diff_from_nothing(doc: dict[str, Any]) -> None:
    assert patching.creation(doc) == patching.diff({}, doc)


def test_the_command_reports_bad_lines_by_number_and_exits_1(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    path = tmp_path / "few.ndjson"
    path.write_text("\n".join([json.dumps(document(1)), "oops", json.dumps(document(2))]) + "\n")
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(cli, ["import", str(path), "--database-url", url, "--no-progress"])
    assert result.exit_code == 1, result.output
    assert f"{path}:2: not JSON" in result.output
    assert "stored 2 services; 0 documents already present; 1 bad" in result.output
    again = CliRunner().invoke(cli, ["import", str(path), "--database-url", url, "--no-progress"])
    assert "stored 0 services; 2 documents already present; 1 bad" in again.output


API = "/tmf-api/serviceActivationAndConfiguration/v4"


async def test_an_imported_service_reads_back_as_one_created_through_the_api(
    client: Any, database_url: str, tmp_path: Path
) -> None:
    """The import encodes its rows for the driver itself (store.bulk): what it stores reads back like what a
    create stores: the document, its dates and numbers in the attribute index, its event."""
    doc = {"name": "twin", "state": "designed", "category": "c1", "serviceType": "CFS", "isBundle": False,
           "startDate": "2026-03-04T05:06:07.250+02:00", "serviceSpecification": {"id": "s1", "name": "Spec"},
           "relatedParty": [{"id": "p1", "role": "customer"}],
           "serviceCharacteristic": [{"name": "speed", "value": 250}, {"name": "cert", "value": "x" * 300},
                                     {"name": "é", "value": "ünïcode"}]}
    path = tmp_path / "one.ndjson"
    path.write_text(json.dumps({"id": "imported-twin", **doc}) + "\n")
    assert (await _import(database_url, path))[0] == 1
    created = await client.post(f"{API}/service", json={"id": "created-twin", **doc})
    assert created.status_code == 201, created.text

    imported = (await client.get(f"{API}/service/imported-twin")).json()
    twin = (await client.get(f"{API}/service/created-twin")).json()
    same = {k: v for k, v in twin.items() if k not in ("id", "href")}
    assert {k: v for k, v in imported.items() if k not in ("id", "href")} == same
    for query in ("startDate.gt=2026-03-04T03:06:07Z", "startDate=2026-03-04T03:06:07.25Z",
                  "serviceCharacteristic.value.gte=250", "serviceCharacteristic.value=" + "x" * 300,
                  "isBundle=false", "relatedParty.id=p1", "serviceCharacteristic.value=ünïcode"):
        found = (await client.get(f"{API}/service?{query}&fields=id")).json()
        assert sorted(s["id"] for s in found) == ["created-twin", "imported-twin"], query

    _, _, events = await counts(database_url)
    assert "imported-twin" in events
