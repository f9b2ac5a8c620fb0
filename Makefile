# seqgan: `make demo` and `make test` set everything up on first use.
#   make setup   .venv with the tested torch/torchaudio pair, seqgan (editable) with the frame corpora's
#                extra (seqgan[frames]) and its test tools;
#                the speech synthesizers and sound packages of the synthetic speech corpus through
#                apt-get when running as root (`make system-packages`; otherwise says how to get them)
#   make test    lint + the test suite (fast; `make test-slow` adds the slow tests)
#   make demo    the default recipe end to end on the embedded corpus (egs/synth/se1/demo.sh)
#   make lint    ruff + shellcheck
#   make test-gpu   the tests that need a CUDA device
#   make bench   the benchmarks under bench/ on this machine (CUDA when present), one JSON object each

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.seqgan-setup
PYTEST_ARGS ?=

.PHONY: setup test test-slow test-gpu bench lint demo clean-demo espeak system-packages

setup: $(STAMP)

# re-installs only when pyproject.toml or the pinned pair changes
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch torchaudio
	$(PY) -m pip install -q -c constraints.txt -e '.[test,frames,dnsmos,play,live,onnx]'
	@$(MAKE) --no-print-directory system-packages
	@touch $(STAMP)

# the synthetic speech corpus: espeak-ng (required); flite, festival + festvox voices and the sound
# packages it takes recorded noises from (optional: without them it skips those voices and noises)
SPEECH_PACKAGES := espeak-ng flite festival festvox-kallpc16k festvox-us-slt-hts festvox-italp16k \
	festvox-itapc16k festvox-ca-ona-hts asterisk-moh-opsound-wav sound-theme-freedesktop deepin-sound-theme
# and PortAudio, which `seqgan live` (the live extra, sounddevice) opens the sound card through
SYSTEM_PACKAGES := $(SPEECH_PACKAGES) libportaudio2

system-packages:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		command -v espeak-ng >/dev/null 2>&1 || { \
		echo "note: espeak-ng is missing; the synthetic speech corpus needs it:"; \
		echo "      brew install espeak-ng   (macOS)   or your system's espeak-ng package"; }; \
	else \
		missing=""; for p in $(SYSTEM_PACKAGES); do \
			dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
		done; \
		if [ -z "$$missing" ]; then :; \
		elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing with apt-get:$$missing"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 || \
			{ apt-get update -qq >/dev/null 2>&1; \
			  apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1; } || \
			for p in $$missing; do \
				apt-get install -y -qq --no-install-recommends $$p >/dev/null 2>&1 || \
				echo "warning: could not install $$p; the corpus (or seqgan live) goes without it"; \
			done; \
		else \
			echo "note: the speech corpus and seqgan live use these Debian packages (espeak-ng is required):"; \
			echo "      sudo apt-get install$$missing"; \
		fi; \
	fi

espeak: system-packages

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
	@. $(VENV)/bin/activate && cd egs/synth/se1 && ./demo.sh

# The GPU check on an offline node (bench/gpu_check.sh): prepare the wheels here, run the check there.
#   make gpu-wheels  the manylinux CPython 3.12 wheels that the GPU image lacks (bench/gpu_wheels.txt,
#                    no dependencies resolved) into .whl/, plus this venv's own for the CPU dry run
#   make gpu-check   bench/gpu_check.sh (GPU_CHECK_ARGS=--dry-run: the same steps at tiny sizes on the CPU)
WHEELS             := .whl
GPU_PYTHON_VERSION ?= 3.12
GPU_CHECK_ARGS     ?=
WHEEL_PY           := $(if $(wildcard $(PY)),$(PY),$(PYTHON))

.PHONY: gpu-wheels gpu-check

gpu-wheels:
	$(WHEEL_PY) -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
		--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
		--python-version $(GPU_PYTHON_VERSION) --implementation cp --abi cp$(subst .,,$(GPU_PYTHON_VERSION)) \
		-d $(WHEELS) -r bench/gpu_wheels.txt
	$(WHEEL_PY) -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
		-d $(WHEELS) -r bench/gpu_wheels.txt
	@du -sh $(WHEELS) && ls $(WHEELS)

gpu-check:
	bench/gpu_check.sh $(GPU_CHECK_ARGS)
