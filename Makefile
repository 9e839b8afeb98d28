# Two commands for a newcomer:  `make demo` (install + analyse the bundled clip)  and  `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test benchmarks mutants clean

# The base install analyses (no TensorFlow); the suite also trains tiny models: `.[test]` adds it.
$(BIN)/emofuse: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: $(BIN)/emofuse
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/emofuse

demo: install
	$(BIN)/emofuse analyze examples/demo.mp4 -o demo/demo.csv --plot demo/demo.png
	@echo "wrote demo/demo.csv and demo/demo.png"

# The suite's temp files (pytest's folders, feature caches) go to a folder removed afterwards.
test: $(VENV)/.test-installed
	@tmp=$$(mktemp -d -t emofuse-test-XXXXXX) && \
	TMPDIR=$$tmp $(BIN)/python -m pytest -q; status=$$?; rm -rf "$$tmp"; exit $$status

benchmarks: install
	$(BIN)/python benchmarks/speed.py

# Mutation testing of the core modules (docs/development.md): an hour or more on 2 cores, not in CI.
mutants: $(VENV)/.test-installed
	$(BIN)/pip install --quiet mutmut==3.8.1
	$(BIN)/python benchmarks/mutation_score.py

clean:
	rm -rf demo build dist *.egg-info .pytest_cache
