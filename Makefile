# The opponent-shaping zoo. Every target installs what it needs first, so on a fresh machine
# `make test` (or `make tournament`) alone is enough.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch stays at the CPU build 2.13.0: constraints.txt pins every dependency, and torch is
# installed first so that no other package can pull in a CUDA build. Set
# TORCH_INDEX=https://download.pytorch.org/whl/cpu on machines whose index serves CUDA wheels.
TORCH_INDEX ?=
PIP := $(BIN)/python -m pip --disable-pip-version-check
PIP_INSTALL := $(PIP) install -q -c constraints.txt $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
PYTEST := $(BIN)/python -m pytest

.PHONY: install test test-slow tournament pinned bench docs lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) torch==2.13.0
	$(PIP_INSTALL) -e '.[dev,ray,rllib,pettingzoo,axelrod,metagame,docs,notebook]'
	$(BIN)/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__; assert not torch.version.cuda, 'a CUDA build of torch was installed'"
	touch $(STAMP)

test: install
	$(PYTEST) -m "not slow" -n 2

test-slow: install
	$(PYTEST) -m slow -n 2

tournament: install
	$(BIN)/shaping tournament --profile standard --workers 2 --out results/leaderboard

# retrain (where stale) and re-pin every artifact listed in results/pinned/manifest.json
pinned: install
	$(BIN)/python -c "from shaping.engine.pinned import read_manifest; print('\n'.join(e.command for e in read_manifest()))" \
		| while read -r command; do $(BIN)/$$command --pin || exit 1; done

bench: install
	$(BIN)/python -m shaping.bench

# the documentation site from docs/ into site/ (strict: a broken link or anchor fails)
docs: install
	$(BIN)/mkdocs build --strict --site-dir site

lint: install
	$(BIN)/ruff check shaping algorithms games tests

format: install
	$(BIN)/ruff format shaping algorithms games tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info site
