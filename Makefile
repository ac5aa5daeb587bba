# Two entry points (README): `make run` and `make test`. Both set everything up first and are fast
# when nothing changed: the venv is re-installed only when a requirements file changes, the index
# only re-embeds reports that changed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)
# llama.cpp is built for this CPU but without its AMX kernels: on Sapphire Rapids VMs they segfault in the first
# decode of the Q4_K_M model (ggml-org/llama.cpp#20824; seen here). Set CMAKE_ARGS yourself for a GPU build.
AMX_OFF := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
export CMAKE_ARGS ?= -DCMAKE_C_FLAGS="$(AMX_OFF)" -DCMAKE_CXX_FLAGS="$(AMX_OFF)"

.PHONY: setup run test index browser eval bench results clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "Installing Python packages (llama-cpp-python compiles once, several minutes; later installs use pip's cache)..."
	$(BIN)/pip install -r requirements-dev.txt
	@touch $(STAMP)

setup: $(STAMP)

index: setup
	$(BIN)/python -m rag index

# Chromium for the end-to-end UI test (Debian package; Playwright drives it, no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "note: chromium is not installed (sudo apt-get install chromium); the browser test will be skipped"; fi; }

run: index
	$(BIN)/python app.py

test: index browser
	$(BIN)/python -m pytest -q

eval: index
	$(BIN)/python -m eval.run --dataset eval/datasets/dev.jsonl --out eval/out/dev-1.5b
	$(BIN)/python -m eval.run --dataset eval/datasets/dev2.jsonl --out eval/out/dev2-1.5b

bench: index browser
	$(BIN)/python -m eval.bench
	$(BIN)/python -m eval.bench_ui

# Everything behind eval/RESULTS.md, one after the other (never two at once on 2 cores): ~1.5 hours.
# Tuned on dev.jsonl, validated on dev2.jsonl: every table shows both.
results: index
	$(BIN)/python -m eval.run --dataset eval/datasets/dev.jsonl --out eval/out/ret --retrieval-only --retrievers dense,lexical,hybrid
	$(BIN)/python -m eval.run --dataset eval/datasets/dev2.jsonl --out eval/out/ret-dev2 --retrieval-only --retrievers dense,lexical,hybrid
	$(BIN)/python -m eval.run --dataset eval/datasets/dev.jsonl --out eval/out/ev-dev --evidence-only
	$(BIN)/python -m eval.run --dataset eval/datasets/dev2.jsonl --out eval/out/ev-dev2 --evidence-only
	$(BIN)/python -m eval.run --dataset eval/datasets/dev.jsonl --out eval/out/dev-1.5b
	$(BIN)/python -m eval.run --dataset eval/datasets/dev2.jsonl --out eval/out/dev2-1.5b
	$(BIN)/python -m eval.run --dataset eval/datasets/dev.jsonl --out eval/out/dev-0.5b --llm qwen2.5-coder-0.5b
	$(BIN)/python -m eval.bench --out eval/out/bench.json
	$(BIN)/python -m eval.results

clean:
	rm -rf index/v-* index/CURRENT eval/out test-artifacts
