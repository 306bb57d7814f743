# One-command entry points. `make train` and `make test` create .venv and install the project first.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: install train test test-fast lint bench clean

install: $(STAMP)

# torch first: with no CUDA driver the local CPU build (torch==2.13.0); with one, pyproject's range
# pulls a CUDA build. An existing torch in the venv is kept.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || \
	  if command -v nvidia-smi >/dev/null 2>&1; then $(PY) -m pip install -q "torch>=2.3,<3"; \
	  else $(PY) -m pip install -q torch==2.13.0; fi
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

train: install
	$(PY) train.py experiment=quickstart $(ARGS)

# Two pytest-xdist workers fed one test at a time, slow tests first (tests/conftest.py): the learning tests
# dominate and each needs one core.
test: install
	$(PY) -m pytest -q -n 2 --maxschedchunk 1 $(ARGS)

test-fast: install
	$(PY) -m pytest -q -n 2 --maxschedchunk 1 -m "not slow" $(ARGS)

lint: install
	$(VENV)/bin/ruff check .

# The peers (SB3, sb3-contrib, Tianshou) live in their own venv, .bench-venv/, never in the project's.
bench: install
	test -x .bench-venv/bin/python || $(PY) scripts/bench.py --setup-peers
	$(PY) scripts/bench.py $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
