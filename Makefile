# `make run`: environment, migrations, server on 127.0.0.1:8640 with SQLite ./tmf640.db.
# `make test`: environment, ruff, mypy, import layering, the whole pytest suite (SQLite and PostgreSQL), in
# parallel, with a coverage floor.
# The environment's interpreter: CPython 3.12 where the machine has one (on PATH or among pyenv's versions), else
# python3. On 3.12 coverage measures through sys.monitoring, which costs the suite about a third of what its C
# tracer costs on 3.11 (docs/performance.md).
PYTHON ?= $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12; do \
	"$$p" -c '' 2>/dev/null && { echo "$$p"; exit; }; done; echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean

# Compiled modules are kept (__pycache__, ignored by git) even where the environment sets PYTHONDONTWRITEBYTECODE:
# without them every process, each test server included, compiles the server's modules again (~3 s of CPU).
export PYTHONDONTWRITEBYTECODE =

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv  # uv installs the rest in seconds (pip: ~35 s)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[test,postgres]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tmf640 migrate --database-url "$${TMF640_DATABASE_URL:-sqlite+aiosqlite:///./tmf640.db}"
	$(BIN)/tmf640 serve --host "$${TMF640_HOST:-127.0.0.1}" --port "$${TMF640_PORT:-8640}" \
		--database-url "$${TMF640_DATABASE_URL:-sqlite+aiosqlite:///./tmf640.db}"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest-xdist workers (each with its own SQLite files and PostgreSQL cluster); coverage below the floor in
# pyproject.toml ([tool.coverage.report] fail_under) fails the run.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=

# The tests' files (SQLite databases, servers' logs) go to the tmpfs at /dev/shm where the machine has one.
unit: $(STAMP)
	if $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then export COVERAGE_CORE=sysmon; fi; \
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi; \
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist worksteal --cov --cov-report=term $(PYTEST_ARGS)

# The type check runs beside the tests (it needs one core for ~40 s cold; the suite waits on servers often).
test: lint
	$(MAKE) --no-print-directory -j2 typecheck unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
