# Set up (once) and run: `make repro` runs the whole pipeline, `make test` runs the tests.
# Both create .venv and install the project on first use, then reuse it.
VENV   := .venv
PY     := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup lock repro test test-slow bench bench-scale tracking-server lint docs clean

# Two sets, each installed from its lock in requirements/: the runtime (what `make repro`,
# `ecgpipe` and the served model need: pyproject.toml's dependencies) and the development set
# (the runtime and the extras dev, server, browser, slurm: tests, docs, browser, notebooks).
# TORCH picks PyTorch's build, the same release either way (constraints/$(TORCH).txt): cpu (the
# default) or cuda (`make setup TORCH=cuda`). A .venv of the other build is made anew.
TORCH   ?= cpu
$(if $(filter $(TORCH),cpu cuda),,$(error TORCH=$(TORCH): cpu or cuda))
RUNTIME := $(VENV)/.runtime-$(TORCH)
DEV     := $(VENV)/.dev-$(TORCH)
NOT     := $(filter-out $(TORCH),cpu cuda)
OTHER   := $(VENV)/.runtime-$(NOT) $(VENV)/.dev-$(NOT)

setup: $(RUNTIME)

# $(call install,SET): the set's lock into .venv, then ecgpipe itself (editable); one stamp left.
define install
	$(if $(wildcard $(OTHER)),rm -rf $(VENV))
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/$(1)-$(TORCH).lock
	$(PY) -m pip install --quiet --no-deps -e .
	rm -f $(VENV)/.runtime-* $(VENV)/.dev-*
	touch $@
endef

$(RUNTIME): pyproject.toml requirements/runtime-$(TORCH).lock
	$(call install,runtime)

$(DEV): pyproject.toml requirements/runtime-$(TORCH).lock requirements/dev-$(TORCH).lock
	$(call install,dev)
	touch $(RUNTIME)

# `make lock` compiles the four locks from pyproject.toml with uv, keeping the versions they pin
# where pyproject.toml still allows them (`make lock UPGRADE=1`: the newest). The dev locks are
# constrained by the runtime's, and the cuda locks by the cpu locks less torch, so every version
# but torch's build and its CUDA packages agrees. The cpu build comes from pip's find-links where
# it is set (this project's machines); the cuda build is PyPI's own torch (its Linux wheel).
DEV_EXTRAS := --extra dev --extra server --extra browser --extra slurm
FIND_LINKS := $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS))
# $(call compile,SET,TORCH,FLAGS)
compile = $(VENV)/bin/uv pip compile pyproject.toml --quiet --python $(PY) \
  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) \
  $(if $(filter dev,$(1)),$(DEV_EXTRAS)) -c constraints/$(2).txt $(3) -o requirements/$(1)-$(2).lock

lock: $(DEV)
	$(call compile,runtime,cpu,$(FIND_LINKS))
	$(call compile,dev,cpu,$(FIND_LINKS) -c requirements/runtime-cpu.lock)
	grep -v '^torch==' requirements/dev-cpu.lock > requirements/.cpu-less-torch.tmp
	$(call compile,runtime,cuda,-c requirements/.cpu-less-torch.tmp)
	$(call compile,dev,cuda,-c requirements/.cpu-less-torch.tmp -c requirements/runtime-cuda.lock)
	rm requirements/.cpu-less-torch.tmp

repro: $(RUNTIME)
	dvc repro

test: lint docs
	$(PY) -m pytest -q -m "not slow" --durations=10

test-slow: $(DEV)
	$(PY) -m pytest -q -m slow --durations=15

bench: $(RUNTIME)
	$(PY) benchmarks/loading.py
	$(PY) benchmarks/training.py

# The DAG at PTB-XL scale (21,799 records) and a tenth of it, then the data stages at 500 Hz:
# per-stage wall time and peak memory (about 20 minutes on 2 cores).
bench-scale: $(RUNTIME)
	$(PY) benchmarks/scale.py

# A team's MLflow server over PostgreSQL (Debian's postgresql); prints the URI to export.
tracking-server: $(DEV)
	$(VENV)/bin/ecgpipe server

lint: $(DEV)
	$(VENV)/bin/ruff check src tests benchmarks notebooks
	$(VENV)/bin/ruff format --check src tests benchmarks notebooks

# The documentation site (mkdocs.yml, docs/) into build/site; --strict fails on a broken link or
# anchor. Not --quiet: mkdocs 1.6 then drops the warnings before --strict counts them.
# NO_MKDOCS_2_WARNING silences Material's banner about MkDocs 2. Browse: .venv/bin/mkdocs serve
docs: $(DEV)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

clean:
	rm -rf data reports metrics plots models multirun outputs
