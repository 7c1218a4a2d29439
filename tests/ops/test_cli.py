"""The `tmf640` command: version, settings from options and env files, prune, services and monitors tables."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.commands.options import build
from app.settings import Settings

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"tmf640 {version('tmf640-graphql')}"


def test_every_setting_is_an_option_of_every_command() -> None:
    for command in ("serve", "migrate", "prune", "demo", "services", "monitors"):
        result = runner.invoke(cli, [command, "--help"], env={"COLUMNS": "300", "TERMINAL_WIDTH": "300"})
        assert result.exit_code == 0, result.output
        missing = [name for name in Settings.model_fields if f"--{name.replace('_', '-')}" not in result.stdout]
        assert missing == [], f"{command} lacks {missing}"
        assert "--env-file" in result.stdout


def test_option_beats_environment_beats_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "tmf640.env"
    env_file.write_text("TMF640_PORT=7001\nTMF640_HUB_MAX_AGE=60\nTMF640_LOG_FORMAT=text\n"
                        'TMF640_DRIVERS={"*": "simulated", "vCPE": "http"}\n')
    monkeypatch.delenv("TMF640_PORT", raising=False)
    from_file = build(env_file, {})
    assert (from_file.port, from_file.hub_max_age, from_file.log_format) == (7001, 60.0, "text")
    assert from_file.drivers == {"*": "simulated", "vCPE": "http"}
    monkeypatch.setenv("TMF640_PORT", "7002")
    assert build(env_file, {}).port == 7002
    given = build(env_file, {"port": "7003", "drivers": '{"*": "http"}', "runner_enabled": "false"})
    assert (given.port, given.drivers, given.runner_enabled) == (7003, {"*": "http"}, False)


def test_a_bad_setting_is_named() -> None:
    result = runner.invoke(cli, ["prune", "--prune-batch", "0"])
    assert result.exit_code != 0 and "prune_batch" in result.output


def test_demo_then_tables_then_prune(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    demo = runner.invoke(cli, ["demo", "--database-url", url, "--latency-ms", "0"])
    assert demo.exit_code == 0, demo.output
    assert "FTTH access" in demo.stdout and "mobile bundle" in demo.stdout
    services = runner.invoke(cli, ["services", "--database-url", url, "-n", "50"], env={"COLUMNS": "200"})
    assert services.exit_code == 0, services.output
    assert "services (6 of 6)" in services.stdout and services.stdout.count("active") >= 6
    assert "GPON access" in services.stdout and "c_MobileLine" in services.stdout
    bundles = runner.invoke(cli, ["services", "--database-url", url, "-q", "isBundle=true"], env={"COLUMNS": "200"})
    assert "services (2 of 2)" in bundles.stdout
    monitors = runner.invoke(cli, ["monitors", "--database-url", url], env={"COLUMNS": "200"})
    assert monitors.exit_code == 0, monitors.output
    assert "monitors (2 of 2)" in monitors.stdout and monitors.stdout.count("Completed") == 2
    assert "4/4" in monitors.stdout and "2/2" in monitors.stdout
    pruned = runner.invoke(cli, ["prune", "--database-url", url])
    assert pruned.exit_code == 0, pruned.output
    assert "outbox: 0 deleted" in pruned.stdout  # all of it is recent


def test_migrate_brings_a_new_database_to_head_and_again_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    for _ in range(2):  # the second run finds nothing pending
        result = runner.invoke(cli, ["migrate", "--database-url", url])
        assert result.exit_code == 0, result.output
        assert f"database at head: {url}" in result.stdout
    tables = runner.invoke(cli, ["services", "--database-url", url], env={"COLUMNS": "200"})
    assert tables.exit_code == 0 and "services (0 of 0)" in tables.stdout, tables.output
