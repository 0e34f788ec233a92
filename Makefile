# Obhvat developer commands. Needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export OBHVAT_DATA_DIR ?= ./var

.PHONY: install lock demo serve test fuzz lint schemas messages bench clean

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/.installed ## create .venv and install Obhvat with its test tools

lock: install ## re-resolve requirements.lock (exact versions with hashes) from pyproject.toml; commit both
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
		--upgrade --no-header --output-file requirements.lock

demo: install ## migrate the SQLite database, load the demo data and serve on :8000 (console at /)
	$(BIN)/obhvat db upgrade
	$(BIN)/obhvat demo load
	@echo "web console: http://127.0.0.1:8000/  (API: http://127.0.0.1:8000/docs)"
	$(BIN)/obhvat serve --host 127.0.0.1 --port 8000

serve: install ## serve on :8000 with whatever database OBHVAT_DATABASE_URL names
	$(BIN)/obhvat serve

test: install ## the whole test suite, on SQLite and PostgreSQL, in TEST_WORKERS processes (default 2: one per core)
	$(BIN)/python -m pytest -n $(or $(TEST_WORKERS),2) --dist loadfile

fuzz: install ## schemathesis on every operation as every role, FUZZ_EXAMPLES cases each (PostgreSQL; a few minutes)
	OBHVAT_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),20) $(BIN)/python -m pytest -q tests/fuzz

lint: install ## ruff and mypy
	$(BIN)/ruff check service tests migrations bench
	$(BIN)/mypy

messages: install ## extract the console's messages and update its catalogues (then translate bg)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header -o var/messages.pot .
	$(BIN)/pybabel update -i var/messages.pot -d service/web/locale --no-location --omit-header

schemas: install ## regenerate the committed OpenAPI and JSON Schemas under schemas/
	$(BIN)/python -m service.schemas_export

clean:
	rm -rf $(VENV) var .pytest_cache

bench: install ## benchmarks on PostgreSQL; BENCH_ARGS=--quick for a short run; writes bench/RESULTS.md
	$(BIN)/python -m bench $(BENCH_ARGS)
