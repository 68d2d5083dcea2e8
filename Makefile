# Set up (once) and run: `make repro` runs the whole pipeline, `make test` runs the tests.
# Both create .venv and install the project on first use, then reuse it.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup lock repro test test-slow bench lint clean

setup: $(STAMP)

# Installs come from requirements.lock: the exact version of every dependency, the project's
# extras included (dev, slurm, browser). `make lock` regenerates it from pyproject.toml with uv;
# constraints.txt keeps torch at a release whose CPU wheel lies on this disk (pip's find-links),
# and the lock names it without the local label (torch==2.13.0 takes 2.13.0+cpu here, PyPI's
# release elsewhere), so nothing pulls a newer torch with CUDA.
LOCK   := requirements.lock

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lock: $(STAMP)
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --quiet -c constraints.txt \
	  $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS)) --python $(PY) -o $(LOCK)
	sed -i -E 's/^(torch==[^+ ]+)\+[a-z0-9.]+/\1/' $(LOCK)

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
