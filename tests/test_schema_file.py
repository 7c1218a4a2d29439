"""schema.graphql at the repository root is the printed schema; regenerate it with
`.venv/bin/python -m schema.print > schema.graphql` when the schema changes."""

from __future__ import annotations

from pathlib import Path

from schema.print import sdl

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_is_up_to_date() -> None:
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert committed == sdl(), "schema.graphql is stale: run `.venv/bin/python -m schema.print > schema.graphql`"


def test_schema_names_follow_tmf() -> None:
    text = sdl()
    for name in ("type ServiceRefOrValue", "serviceRelationshipCharacteristic: [Characteristic!]",
                 "referredType: String", "schemaLocation: String", "policyConstraint: [PolicyRef!]",
                 "union PatchServiceResult", "type Monitor", "statusCode: String"):
        assert name in text
