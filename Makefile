# Set up (once) and run: `make repro` runs the whole pipeline, `make test` runs the tests.
# Both create .venv and install the project on first use, then reuse it.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup repro test test-slow bench lint clean

setup: $(STAMP)

# torch is pinned through constraints.txt: it names a version whose CPU wheel is found locally
# here, and is the ordinary PyPI release elsewhere; nothing pulls a newer torch with CUDA.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

repro: $(STAMP)
	dvc repro

test: lint
	$(PY) -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/loading.py
	$(PY) benchmarks/training.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf data reports metrics plots models multirun outputs
