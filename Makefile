# Two commands on a fresh machine:   make install results   and   make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONSULTATIONS ?= sample polis-nz-biodiversity
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export MPLBACKEND ?= Agg

RESULTS := $(addprefix results-,$(CONSULTATIONS))

.PHONY: install results test notebooks lint sample benchmarks clean $(RESULTS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch is pinned at install time only (constraints.txt: the CPU wheel); GPU users: see README.
# The accessibility tests drive Debian's chromium (no browser download): installed here when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
install: $(BIN)/python
	command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	$(BIN)/pip install --quiet -c constraints.txt torch
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"

# The consultations are independent (own processed/ and reports/ folders): run two at a time, each one's log
# printed whole when it ends (--output-sync); make stops with an error if any of them fails.
results:
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(RESULTS)

$(RESULTS): results-%:
	@$(BIN)/analysis run $*

test:
	$(BIN)/python -m pytest -q tests
	$(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks

# The .ipynb files are the source (edit them in Jupyter); this re-executes them in place for the sample.
# `python scripts/run_notebooks.py --check` runs them twice and fails if the second run changes a byte.
notebooks:
	$(BIN)/analysis notebooks --in-place

lint:
	$(BIN)/ruff check src tests benchmarks scripts

sample:
	$(BIN)/python -m analysis.sample

clean:
	rm -rf data/processed/* reports/*
