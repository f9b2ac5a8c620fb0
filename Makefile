# seqgan: `make demo` and `make test` set everything up on first use.
#   make setup   .venv with the tested torch/torchaudio pair, seqgan (editable) with the frame corpora's
#                extra (seqgan[frames]) and its test tools;
#                espeak-ng through apt-get when running as root (otherwise says how to get it)
#   make test    lint + the test suite (fast; `make test-slow` adds the slow tests)
#   make demo    the default recipe end to end on the embedded corpus
#   make lint    ruff + shellcheck
#   make test-gpu   the tests that need a CUDA device
#   make bench   the benchmarks under bench/ on this machine (CUDA when present), one JSON object each

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.seqgan-setup
PYTEST_ARGS ?=

.PHONY: setup test test-slow test-gpu bench lint demo clean-demo espeak

setup: $(STAMP)

# re-installs only when pyproject.toml or the pinned pair changes
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch torchaudio
	$(PY) -m pip install -q -c constraints.txt -e '.[test,frames]'
	@$(MAKE) --no-print-directory espeak
	@touch $(STAMP)

espeak:
	@if command -v espeak-ng >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing espeak-ng with apt-get"; \
		(apt-get install -y -qq espeak-ng >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq espeak-ng >/dev/null 2>&1)) || \
		echo "warning: could not install espeak-ng; the synthetic speech corpus needs it"; \
	else \
		echo "note: espeak-ng is missing; the synthetic speech corpus needs it:"; \
		echo "      sudo apt-get install espeak-ng   (Debian/Ubuntu)   or   brew install espeak-ng   (macOS)"; \
	fi

lint: setup
	$(VENV)/bin/ruff check seqgan tests bench recipes
	@files=$$(find recipes egs -name '*.sh' -not -path '*/data/*' -not -path '*/exp/*' 2>/dev/null); \
	if [ -n "$$files" ]; then echo "shellcheck $$(echo $$files | wc -w) scripts"; $(VENV)/bin/shellcheck -x $$files; fi

test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: setup
	$(PY) -m pytest -m "slow" $(PYTEST_ARGS)

test-gpu: setup
	$(PY) -m pytest -m "gpu" $(PYTEST_ARGS)

bench: setup
	@if $(PY) -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then \
		$(PY) bench/train_throughput.py --device cuda && \
		$(PY) bench/enhance_rtf.py --device cuda --batch-size 256 --bf16 && \
		$(PY) bench/ddp_scaling.py --device cuda; \
	else \
		$(PY) bench/train_throughput.py && $(PY) bench/enhance_rtf.py && $(PY) bench/ddp_scaling.py; \
	fi

demo: setup
	@. $(VENV)/bin/activate && cd egs/synth/se1 && ./run.sh --stage 0 --stop-stage 5
