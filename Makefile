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

.PHONY: run test lint dev bench install check-java clean

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
	@if [ ! -d "$(HUB_HOME)/landing" ]; then $(BIN)/hub seed --scale $(SCALE) --out $(HUB_HOME); fi
	$(BIN)/hub materialize
	$(BIN)/hub status

test: install lint
	$(BIN)/pytest

lint: install  ## ruff: pyflakes, bugbear, import order, unused arguments (configured in pyproject.toml)
	$(BIN)/ruff check .

dev: install  ## the Dagster UI on http://127.0.0.1:3000 with sensors and automation running
	@if [ ! -d "$(HUB_HOME)/landing" ]; then $(BIN)/hub seed --scale $(SCALE) --out $(HUB_HOME); fi
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: install
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(HUB_HOME)
