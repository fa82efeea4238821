# StrumSpace set-up and entry points. Two commands matter:
#   make run    set up (system packages, .venv), make sure there is an audio server, open the app
#   make test   the same set-up, then the test suite (tests start their own JACK server)
# Both are idempotent and quick once set up: the Python install is redone only when
# pyproject.toml changes (the stamp file's name holds a hash of it).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PYPROJECT_HASH := $(shell sha256sum pyproject.toml | cut -c1-16)
STAMP := $(VENV)/.strumspace-setup-$(PYPROJECT_HASH)
# The CPU build of torch 2.13.0 lies on some of our machines; use it where it does
# (much smaller than the CUDA build PyPI serves for Linux). Elsewhere: the normal index.
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0*.whl))
ARGS ?=

.PHONY: help run test setup system-deps python-deps jack briefcase-dev

help:
	@echo "make run    set everything up and open StrumSpace (ARGS='...' passes arguments)"
	@echo "make test   set everything up and run the test suite"

setup: system-deps python-deps

system-deps:
	@bash installer/setup-system.sh

python-deps: $(STAMP)

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "StrumSpace needs Python 3.11 or newer; '$(PYTHON)' is older." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): | $(VPY)
ifneq ($(TORCH_WHEEL),)
	$(VPY) -m pip install --find-links $(dir $(TORCH_WHEEL)) torch==2.13.0
else
	$(VPY) -m pip install torch
endif
	$(VPY) -m pip install -e '.[dev,cloud]'
	@rm -f $(VENV)/.strumspace-setup-*
	@touch $@

jack:
	@bash installer/start-jack.sh

run: setup jack
	@if [[ -z "$${DISPLAY:-}" && -z "$${WAYLAND_DISPLAY:-}" ]]; then \
		echo "No display: running StrumSpace inside Xvfb (xvfb-run)."; \
		exec xvfb-run -a -s "-screen 0 1920x1080x24" $(VENV)/bin/strumspace $(ARGS); \
	else \
		exec $(VENV)/bin/strumspace $(ARGS); \
	fi

test: setup
	$(VPY) -m pytest -q

# The app through Briefcase's dev mode, in this .venv (see docs/PACKAGING.md).
briefcase-dev: python-deps jack
	@bash installer/setup-system.sh libasound2-dev libjack-jackd2-dev
	$(VPY) -m installer.briefcase dev --no-isolation --no-input $(if $(ARGS),-- $(ARGS),)
