# grokjax -- `make sweep` trains the default sweep end to end; `make test` runs the tests.
# Both set up .venv on first use (Python >= 3.11 and pip are all a fresh machine needs).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SWEEP  ?= parity_quick
EXTRAS ?= dev,ray
ARGS   ?=
# pytest-xdist processes (a file's tests share one: module fixtures are built once); the
# tests are mostly one-core work (compiling, tiny models), so one process per core
TEST_WORKERS ?= auto

.PHONY: install test sweep report lint bench clean help

help:
	@echo "make sweep [SWEEP=name] [ARGS=...]  train sweeps/NAME.toml -> results/NAME/ (default parity_quick)"
	@echo "make report SWEEP=name              re-render results/NAME/index.html"
	@echo "make test                           the test suite"
	@echo "make lint                           ruff"
	@echo "make bench                          throughput tables (EXTRAS=dev,bench for the PyTorch column, dev,ray for Ray's)"
	@echo "make install [EXTRAS=dev,ray,cuda12] (re)install into $(VENV)"
	@echo "make clean                          remove results and caches"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	@touch $@

install:
	@rm -f $(VENV)/.installed
	@$(MAKE) --no-print-directory $(VENV)/.installed

test: $(VENV)/.installed
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

sweep: $(VENV)/.installed
	$(PY) -m grokjax sweep sweeps/$(SWEEP).toml $(ARGS)

report: $(VENV)/.installed
	$(PY) -m grokjax report results/$(SWEEP)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed
	$(PY) -m benchmarks.bench $(ARGS)
	$(PY) -m benchmarks.clusters
	$(PY) -m benchmarks.flush

clean:
	find results -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path "./$(VENV)/*" -exec rm -rf {} +
