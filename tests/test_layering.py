"""DESIGN.md's import direction, checked by import-linter's contracts in pyproject.toml and an ast walk."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# package -> packages of ours it must never import
FORBIDDEN = {
    "store": {"resolvers", "schema", "rest_compat", "app"},
    "resolvers": {"schema", "rest_compat", "app"},
    "schema": {"rest_compat", "app"},
    "rest_compat": {"schema", "app"},
}
FRAMEWORKS = {"sqlalchemy", "strawberry", "starlette"}
# Domain rules (resolvers/rules/) are plain Python (DESIGN.md): no framework import there.
RULES = ROOT / "resolvers" / "rules"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_packages_import_only_downwards() -> None:
    offences = []
    for package, banned in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            bad = imports_of(path) & banned
            if bad:
                offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offences == []


def test_domain_rules_are_framework_free() -> None:
    offences = []
    for path in sorted(RULES.rglob("*.py")):
        bad = imports_of(path) & FRAMEWORKS
        if bad:
            offences.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offences == []


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
