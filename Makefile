# Set up (once) and run: `make repro` runs the whole pipeline, `make test` runs the tests.
# Both create .venv and install the project on first use, then reuse it.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup lock repro test test-slow bench bench-scale tracking-server lint docs clean

setup: $(STAMP)

# Installs come from requirements.lock: the exact version of every dependency, the project's
# extras included (dev, slurm, server, browser). `make lock` regenerates it from pyproject.toml
# with uv. constraints.txt keeps torch at the release whose CPU wheel (2.13.0+cpu) lies on this
# disk (pip's find-links), so nothing pulls a torch with CUDA; elsewhere, give pip PyTorch's CPU
# index: `PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make setup`.
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

repro: $(STAMP)
	dvc repro

test: lint docs
	$(PY) -m pytest -q -m "not slow"

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/loading.py
	$(PY) benchmarks/training.py

# The DAG at PTB-XL scale (21,799 records) and a tenth of it, then the data stages at 500 Hz:
# per-stage wall time and peak memory (about 20 minutes on 2 cores).
bench-scale: $(STAMP)
	$(PY) benchmarks/scale.py

# A team's MLflow server over PostgreSQL (Debian's postgresql); prints the URI to export.
tracking-server: $(STAMP)
	$(VENV)/bin/ecgpipe server

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks notebooks
	$(VENV)/bin/ruff format --check src tests benchmarks notebooks

# The documentation site (mkdocs.yml, docs/) into build/site; --strict fails on a broken link or
# anchor. Not --quiet: mkdocs 1.6 then drops the warnings before --strict counts them.
# NO_MKDOCS_2_WARNING silences Material's banner about MkDocs 2. Browse: .venv/bin/mkdocs serve
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

clean:
	rm -rf data reports metrics plots models multirun outputs
