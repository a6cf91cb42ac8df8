# hub_platform: `make run` builds everything and materializes the sample; `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
SCALE ?= medium
HUB_HOME ?= $(CURDIR)/.hub
export HUB_HOME
export DAGSTER_HOME := $(HUB_HOME)/dagster
export SPARK_LOCAL_IP := 127.0.0.1
export GX_ANALYTICS_ENABLED := false

.PHONY: run test test-cluster lint dev bench install check-java clean

install: check-java $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

check-java:
	@command -v java >/dev/null 2>&1 || { echo "Java 17 is required by Spark and was not found. On Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless"; exit 1; }
	@java -version 2>&1 | grep -Eq 'version "(17|21)' || { echo "Spark 4 needs Java 17 (or 21); found: $$(java -version 2>&1 | head -1)"; exit 1; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	$(BIN)/pip check
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

run: install  ## seed the sample (once), materialize the whole graph, print what each zone holds
	@echo "==> 1/3 sample data: $(if $(wildcard $(HUB_HOME)/landing),already in $(HUB_HOME)/landing (make clean starts over),generating the $(SCALE) sample into $(HUB_HOME)/landing (about 20 s))"
	@if [ ! -d "$(HUB_HOME)/landing" ]; then $(BIN)/hub seed --scale $(SCALE) --out $(HUB_HOME); fi
	@echo "==> 2/3 materializing every asset in one run (about 4 minutes for the medium sample on 2 cores); one line per asset as it goes"
	$(BIN)/hub materialize
	@echo "==> 3/3 what each zone holds"
	@$(BIN)/hub status
	@echo "next: make dev (the UI on http://127.0.0.1:3000), $(BIN)/hub serve (planners' dashboard), $(BIN)/hub --help"

test: install lint
	$(BIN)/pytest

test-cluster: install  ## Spark beyond one process: a standalone master and worker, curated and customer-360 on them
	$(BIN)/pytest -m cluster

lint: install  ## ruff: pyflakes, bugbear, import order, unused arguments (configured in pyproject.toml)
	$(BIN)/ruff check .

dev: install  ## the Dagster UI on http://127.0.0.1:3000 with sensors and automation running
	@if [ ! -d "$(HUB_HOME)/landing" ]; then $(BIN)/hub seed --scale $(SCALE) --out $(HUB_HOME); fi
	@echo "==> the UI on http://127.0.0.1:3000. On a fresh hub the landing sensor asks for one run that ingests every"
	@echo "    feed into raw/ and clean/ within a minute; automation then builds each further zone in a few runs (README: make dev)."
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: install
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(HUB_HOME)
