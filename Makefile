# The two commands of the README: `make run` and `make test`.
# Each creates .venv in the checkout on first use and reuses it afterwards;
# the stamp files make re-running them instant once the requirements are installed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test lint bench plotly

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# serve.py = streamlit run app.py, with the labs' libraries warmed at server start.
run: $(VENV)/.run-deps
	$(PY) serve.py

test: $(VENV)/.test-deps
	$(PY) -m pytest

lint: $(VENV)/.test-deps
	$(PY) -m ruff check .

$(VENV)/.bench-deps: $(VENV)/.test-deps requirements-bench.txt
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@

# Benchmarks print ratios against the peers; they are never part of `make test`.
bench: $(VENV)/.bench-deps
	$(PY) bench/kmeans.py
	$(PY) bench/attention.py
	$(PY) bench/page.py
	$(PY) bench/load.py

# assets/plotly: Plotly.js with only the trace types the Lab draws, which serve.py puts into
# Streamlit's chart chunk. Rebuild it (Node 20+ and npm) after upgrading Streamlit or adding
# a trace type; tests/test_serve.py says when it is due.
plotly: $(VENV)/.run-deps
	js="$$($(PY) -c 'import serve; print(serve.SCRIPTS)')" && cd assets/plotly \
		&& npm ci --ignore-scripts --no-audit --no-fund && node build.mjs "$$js"
