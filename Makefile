# The front door. Every target bootstraps .venv when it is missing, so a fresh
# clone needs nothing but Python 3.11, make and (for browser tests) Debian's chromium.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two stamps: the demo, bench and soak need only racecheck's runtime dependencies;
# test and lint also need the dev extras (pytest, playwright, schemathesis, mypy...).
# `make test` after `make demo` finds no dev stamp and installs the extras.
STAMP  := $(VENV)/.installed-runtime
DEV    := $(VENV)/.installed-dev
APACHE := $(VENV)/.installed-apache

.PHONY: demo test lint bench bench-full bench-profile soak venv clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

# The dev extras include the runtime: one install refreshes both stamps.
$(DEV): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(DEV)

## venv: the environment with the dev extras (what test and lint use)
venv: $(DEV)

# mod_wsgi for the Apache tests: it compiles against apache2-dev (apt), so it is an
# extra that only `make test` asks for; demo and bench work without it. Outside CI a
# failed build only warns (those tests then skip, saying why); in CI it stops here.
$(APACHE): $(DEV)
	@if $(BIN)/pip install --quiet -e '.[dev,apache]'; then touch $(APACHE); \
	elif [ "$$CI" = true ]; then echo "mod_wsgi did not build: apt-get install apache2 apache2-dev" >&2; exit 1; \
	else echo "warning: mod_wsgi not installed (apt-get install apache2 apache2-dev); the Apache tests will skip" >&2; fi

## demo: locked, unlocked, sqlite and naive side by side; locked and naive also under --preempt
demo: $(STAMP)
	$(BIN)/racecheck compare --quick

## test: lint, type-check, then the whole pytest suite (unit, end-to-end, browser)
# Tests run in parallel processes: most of an end-to-end test waits on servers and
# processes it started, so 4 at a time keep 2 cores busy (8.8 min instead of 19).
TEST_PROCESSES ?= 4
test: $(DEV) $(APACHE) lint
	$(BIN)/pytest -n $(TEST_PROCESSES)

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: performance against hey/wrk, checker speed, detection rate (quick mode)
bench: $(STAMP)
	$(BIN)/racecheck bench --quick

## bench-full: the numbers in docs/performance.md (about 40 minutes on 2 cores)
bench-full: $(STAMP)
	$(BIN)/racecheck bench --out reports/bench-full

## bench-profile: where the requests driver's CPU goes (py-spy, sampling only GIL holders)
bench-profile: $(STAMP)
	$(BIN)/pip install --quiet py-spy
	$(BIN)/py-spy record --gil --rate 200 --format raw --output reports/driver-profile.txt \
		-- $(BIN)/python benchmarks/profile_driver.py --votes 15000
	$(BIN)/python benchmarks/profile_driver.py --summarize reports/driver-profile.txt

## soak: the locked build under load for minutes on every server (not part of make test)
soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
