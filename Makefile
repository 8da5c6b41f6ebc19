# Two commands for a new user: `make eval` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUITE ?= suites/finance.yaml
PYTEST_ARGS ?=

.PHONY: eval test setup browser prometheus lint citools models benchmark schema clean serve examples mlserver llm microbench

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

eval: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/pytest --evalharness $(SUITE) $(PYTEST_ARGS)

microbench: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider benchmarks/test_engine_microbench.py --benchmark-autosave $(PYTEST_ARGS)

serve: $(STAMP)
	$(BIN)/evalharness serve

examples: $(STAMP)
	BIN=$(BIN) bash scripts/run-examples.sh $(PYTEST_ARGS)

test: $(STAMP) browser prometheus mlserver llm lint
	HF_HUB_OFFLINE=1 $(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP) citools
	$(BIN)/ruff check evalharness tests benchmarks scripts
	$(BIN)/mypy
	bash scripts/lint-ci.sh

citools:
	@bash scripts/install-actionlint.sh
	@bash scripts/install-groovy-lint.sh | tail -n 1

browser:
	@bash scripts/install-browser.sh

prometheus:
	@bash scripts/install-prometheus.sh

mlserver:
	@PYTHON=$(PYTHON) bash scripts/install-mlserver.sh

llm:
	@PYTHON=$(PYTHON) bash scripts/install-llama-server.sh

models: $(STAMP)
	$(BIN)/python scripts/build_finance_demo.py
	$(BIN)/python scripts/build_quantized_demo.py
	$(BIN)/python scripts/build_forecasting_demo.py
	$(BIN)/python scripts/build_customer_service_demo.py

schema: $(STAMP)
	$(BIN)/evalharness schema > schemas/suite-v1.json

benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_overhead.py --repeats 15
	$(BIN)/python benchmarks/bench_rules.py
	$(BIN)/python benchmarks/bench_dtw.py
	$(BIN)/python benchmarks/bench_compare.py
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_bertscore.py
	$(BIN)/python benchmarks/bench_endpoint.py
	$(BIN)/python benchmarks/bench_load_fidelity.py
	$(BIN)/python benchmarks/bench_load_timeline.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_intervals.py
	$(BIN)/python benchmarks/bench_ks.py
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) .venv-mlserver reports/*.json reports/*.xml reports/*.html .pytest_cache
