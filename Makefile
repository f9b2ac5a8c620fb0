# seqgan: `make demo` and `make test` set everything up on first use.
#   make setup   .venv with the tested torch/torchaudio pair, seqgan (editable) and its test tools;
#                espeak-ng through apt-get when running as root (otherwise says how to get it)
#   make test    lint + the test suite (fast; `make test-slow` adds the slow tests)
#   make demo    the default recipe end to end on the embedded corpus
#   make lint    ruff + shellcheck

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.seqgan-setup
PYTEST_ARGS ?=

.PHONY: setup test test-slow lint demo clean-demo espeak

setup: $(STAMP)

# re-installs only when pyproject.toml or the pinned pair changes
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch torchaudio
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
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

demo: setup
	@. $(VENV)/bin/activate && cd egs/synth/se1 && ./run.sh --stage 0 --stop-stage 5
