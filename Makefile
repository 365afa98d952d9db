# Every target sets up what it needs; a fresh clone needs only Python 3, make and the registries.
PY ?= python3
VENV := .venv
TFVENV := .venv-tf
PROTOVENV := .venv-proto
GRPCIO_TOOLS := grpcio-tools==1.70.0   # bundles protoc 29.0 -> gencode for protobuf 5.29.0
BIN := $(VENV)/bin

.PHONY: all venv demo test lint unit proto proto-check protobuf-ends compat bench bench-full golden fuzz image image-test clean

all: test

$(BIN)/.ok: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.ok

demo: $(BIN)/.ok
	rm -rf build/demo build/demo-preview.png
	$(BIN)/tfrecord-lite convert -a examples/sample/output.manifest -i examples/sample -o build/demo --split 0.25 --partition 1
	$(BIN)/tfrecord-lite preview build/demo -o build/demo-preview.png -n 12 --split train
	@echo "dataset: build/demo   preview picture: build/demo-preview.png"

test: lint proto-check unit protobuf-ends compat

lint: $(BIN)/.ok
	$(BIN)/ruff check tfrecord_lite tests benchmarks examples scripts

unit: $(BIN)/.ok
	$(BIN)/python -m pytest -q -p no:cacheprovider tests --ignore=tests/compat

$(PROTOVENV)/.ok:
	$(PY) -m venv $(PROTOVENV)
	$(PROTOVENV)/bin/pip install -q $(GRPCIO_TOOLS)
	touch $@

proto: $(PROTOVENV)/.ok
	bash scripts/gen_protos.sh $(PROTOVENV)/bin/python tfrecord_lite/_protos

proto-check: $(PROTOVENV)/.ok
	bash scripts/gen_protos.sh $(PROTOVENV)/bin/python --check

protobuf-ends:
	bash scripts/protobuf_ends.sh $(PY)

$(TFVENV)/.ok: pyproject.toml benchmarks/requirements-tf.txt tests/compat/requirements-oracle.txt
	$(PY) -m venv $(TFVENV)
	$(TFVENV)/bin/pip install -q --upgrade pip
	$(TFVENV)/bin/pip install -q -r benchmarks/requirements-tf.txt
	$(TFVENV)/bin/pip install -q -r tests/compat/requirements-oracle.txt
	$(TFVENV)/bin/pip install -q -e .
	touch $@

compat: $(TFVENV)/.ok
	$(TFVENV)/bin/python -m pytest -q -p no:cacheprovider tests/compat

bench: $(TFVENV)/.ok
	$(TFVENV)/bin/python benchmarks/run.py

bench-full: $(TFVENV)/.ok
	$(TFVENV)/bin/python benchmarks/run.py --full

golden: $(TFVENV)/.ok
	$(TFVENV)/bin/python tests/golden/make_golden.py

fuzz: $(BIN)/.ok
	bash scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

image:
	bash scripts/image.sh

image-test:
	bash scripts/image-test.sh

clean:
	rm -rf build .venv .venv-tf .venv-proto .venv-hadolint .venv-fuzz .venv-pb-* *.egg-info
