"""The client examples in examples/ run against a real uvicorn server: Python with `gql` and JavaScript with
`graphql-ws` (node, with the vendored packages). Each creates a bundle, subscribes to its tree, activates it and
ends when the subscription has shown every service active."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.test_e2e_serve import ROOT, server  # noqa: F401  (the fixture: a real uvicorn process)

TIMEOUT = 180  # generous: a shared, slow machine; the examples end on their own when the work is done
pytestmark = pytest.mark.e2e


def _check(output: subprocess.CompletedProcess[str], root: str) -> None:
    assert output.returncode == 0, output.stdout + output.stderr
    lines = output.stdout.splitlines()
    assert lines[-1] == "all active", output.stdout
    active = {line.split()[1] for line in lines if line.startswith("event ") and line.endswith(" active")}
    assert active == {root, f"{root}-m1", f"{root}-m2", f"{root}-m3"}, output.stdout


def test_python_gql_example(server: str) -> None:  # noqa: F811
    command = [sys.executable, str(ROOT / "examples/python/tree_activation.py"), server, "py-example"]
    _check(subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT), "py-example")


def test_javascript_graphql_ws_example(server: str) -> None:  # noqa: F811
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            raise AssertionError("CI needs node (.ci/run installs Debian's nodejs)")
        pytest.skip("node is not installed (apt-get install nodejs)")
    command = [node, str(ROOT / "examples/js/tree_activation.js"), server, "js-example"]
    _check(subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, cwd=ROOT), "js-example")
