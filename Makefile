# curvine-py: build, test, demo and benchmark from a fresh Debian machine.
#
#   make demo    build everything, start a mini cluster, mount it through
#                curvine-fluid and list the mounted dataset
#   make test    cargo tests of the native crates, then pytest
#   make bench   sequential read/write throughput against the mini cluster
#                (BENCH_ARGS="--size-mib 1024 --repeat 3" to change the run)
#   make wheel   a wheel carrying libcurvine and curvine-mini
#
# Stamps under build/ keep a second run from redoing finished steps.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMPS := build/stamps
CARGO ?= cargo

MINI_BIN := curvine_py/_bin/curvine-mini

# Every input of the native parts, so that an edit rebuilds what it touches.
WIRE_SRC := $(shell find native/wire -type f \( -name '*.rs' -o -name '*.proto' \
	-o -name 'Cargo.toml' \) 2>/dev/null)
CLIENT_SRC := $(shell find native/client -type f \( -name '*.rs' \
	-o -name 'Cargo.toml' \) 2>/dev/null)
LIB_SRC := $(shell find native/libcurvine -type f \( -name '*.rs' -o -name '*.h' \
	-o -name '*.toml' \) 2>/dev/null)
MINI_SRC := $(shell find native/mini -type f \( -name '*.rs' \
	-o -name 'Cargo.toml' \) 2>/dev/null)
NATIVE_COMMON := native/Cargo.toml $(wildcard native/Cargo.lock)

# A stamp outlives what it stands for when a venv or a build is deleted by
# hand; forget such stamps so that the step runs again.
ifeq ($(wildcard $(VPY)),)
$(shell rm -f $(STAMPS)/venv $(STAMPS)/python)
endif
ifeq ($(wildcard curvine_py/_libcurvine/lib_libcurvine.so),)
$(shell rm -f $(STAMPS)/python)
endif

.PHONY: help deps build test test-native test-python demo bench wheel

help:
	@echo "make demo   build, start a mini cluster, mount it and list the dataset"
	@echo "make test   run the native and the Python tests"
	@echo "make bench  print read/write throughput against the mini cluster"
	@echo "make wheel  build a wheel under native/target/wheels/"

# Debian packages: protoc for prost-build, fusermount3 and libfuse3 for mfusepy.
$(STAMPS)/apt:
	@mkdir -p $(STAMPS)
	@missing=""; \
	command -v protoc >/dev/null || missing="$$missing protobuf-compiler"; \
	{ command -v fusermount3 >/dev/null && \
	  /sbin/ldconfig -p | grep 'libfuse3\.so\.3' >/dev/null; } || missing="$$missing fuse3"; \
	command -v cc >/dev/null || missing="$$missing gcc libc6-dev"; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  echo "installing Debian packages:$$missing"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@touch $@

# The virtual environment, with the build tools the editable install needs.
# A half-made .venv (one without a working pip) is made again.
$(STAMPS)/venv: $(STAMPS)/apt
	@mkdir -p $(STAMPS)
	$(VPY) -m pip --version >/dev/null 2>&1 || \
	  { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q "maturin>=1.5,<2" "cffi>=1.16"
	@touch $@

# The mini cluster binary, shipped inside the package so tests and the demo find it.
$(MINI_BIN): $(STAMPS)/apt $(WIRE_SRC) $(MINI_SRC) $(NATIVE_COMMON)
	cd native && $(CARGO) build --release -p curvine-mini
	@mkdir -p $(dir $@)
	install -m 0755 native/target/release/curvine-mini $@

# libcurvine and the cffi module, installed editable with the test extras.
$(STAMPS)/python: $(STAMPS)/venv $(STAMPS)/apt $(MINI_BIN) pyproject.toml \
		$(WIRE_SRC) $(CLIENT_SRC) $(LIB_SRC) $(NATIVE_COMMON)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release \
		--extras test,fuse
	@touch $@

deps: $(STAMPS)/apt $(STAMPS)/venv

build: $(STAMPS)/python

test: test-native test-python

test-native: $(STAMPS)/apt
	cd native && $(CARGO) test --workspace

# pytest's exit 5 means it collected nothing, which is a broken suite here.
test-python: build
	@status=0; $(VPY) -m pytest || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; fi; \
	exit $$status

demo: build
	$(VPY) scripts/demo.py

bench: build
	$(VPY) benchmarks/throughput.py $(BENCH_ARGS)

# A wheel with libcurvine and curvine-mini inside, under native/target/wheels/.
wheel: $(STAMPS)/venv $(MINI_BIN)
	$(VENV)/bin/maturin build --release
