# Two commands do everything: `make demo` and `make test`. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
ASSAY := $(VENV)/bin/assay
DATA_DIR ?= ../shared/data
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: setup demo test lint clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch (a plain `torch` would pull a multi-GB CUDA build)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[hf,models,tracking,human,dev]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(ASSAY) run --model smollm2-135m --tasks arc_easy,hellaswag,winogrande,piqa --limit 100 --data-dir $(DATA_DIR)

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) runs data mlflow.db mlartifacts
