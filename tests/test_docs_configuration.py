"""docs/configuration.md lists exactly the settings `app.settings.Settings` reads, each with its default."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.settings import Settings

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def documented() -> set[str]:
    return set(re.findall(r"`TMF640_([A-Z0-9_]+)`", GUIDE.read_text(encoding="utf-8")))


def test_every_setting_is_documented_and_nothing_else() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert sorted(fields - documented()) == [], "settings missing from docs/configuration.md"
    assert sorted(documented() - fields) == [], "docs/configuration.md names settings that do not exist"


def test_documented_defaults_match() -> None:
    rows = re.findall(r"^\| `TMF640_([A-Z0-9_]+)` \| `([^`]*)` \|", GUIDE.read_text(encoding="utf-8"), re.M)
    assert rows, "no table rows found"
    defaults = Settings.model_construct().model_dump()
    for name, shown in rows:
        value = defaults[name.lower()]
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        assert shown == str(value), f"TMF640_{name}: documented {shown!r}, Settings says {value!r}"
