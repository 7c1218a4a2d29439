"""Packaging: every imported library is declared in pyproject.toml, and PostgreSQL's driver is an optional extra
whose absence is a clear error naming it (not an ImportError deep inside SQLAlchemy)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from app.settings import Settings
from store.db import make_engine
from store.errors import MissingDriver

ROOT = Path(__file__).resolve().parents[1]
SERVER = ("app", "schema", "resolvers", "store", "rest_compat")
OURS = {*SERVER, "tests", "bench"}
PG_URL = "postgresql+asyncpg://tmf640@127.0.0.1:1/tmf640"


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project


def _names(requirements: object) -> set[str]:
    assert isinstance(requirements, list)
    return {re.split(r"[\[<>=!~; ]", str(r), maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def _imports(folders: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level module name -> the files importing it, for every third-party import in `folders`."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OURS:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _undeclared(folders: tuple[str, ...], declared: set[str]) -> list[str]:
    dists = packages_distributions()
    missing = []
    for module, files in sorted(_imports(folders).items()):
        providers = {d.lower().replace("_", "-") for d in dists.get(module, [])}
        if not providers & declared:
            missing.append(f"{module} (from {sorted(providers) or 'nothing installed'}) in {sorted(files)[:3]}")
    return missing


def test_the_server_imports_only_declared_libraries() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    declared = _names(project["dependencies"]) | _names(extras["postgres"])
    assert _undeclared(SERVER, declared) == []


def test_tests_and_benchmarks_import_only_declared_libraries() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    declared = _names(project["dependencies"]) | _names(extras["postgres"]) | _names(extras["test"])
    assert _undeclared(("tests", "bench"), declared) == []


def test_postgresql_driver_is_an_optional_extra() -> None:
    project = _project()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    assert "asyncpg" in _names(extras["postgres"])
    assert "asyncpg" not in _names(project["dependencies"])


def test_a_postgresql_url_without_the_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if the extra were not installed
    with pytest.raises(MissingDriver, match=r"tmf640-graphql\[postgres\]"):
        make_engine(PG_URL)
    with pytest.raises(ValueError, match=r"TMF640_DATABASE_URL: postgresql\+asyncpg:// needs .*\[postgres\]"):
        Settings(database_url=PG_URL)
    with pytest.raises(ValueError, match=r"TMF640_BUS_URL: postgresql:// needs .*\[postgres\]"):
        Settings(bus_url="postgresql://")


def test_the_server_command_names_the_missing_extra() -> None:
    code = "import sys; sys.modules['asyncpg'] = None; from app.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "serve", "--database-url", PG_URL],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert 'pip install "tmf640-graphql[postgres]"' in result.stderr
    assert "Traceback" not in result.stderr
