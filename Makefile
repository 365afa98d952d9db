# Every target sets up what it needs; a fresh clone needs only Python 3, make and the registries.
PY ?= python3
VENV := .venv
TFVENV := .venv-tf
EFVENV := .venv-edgefirst
BEAMVENV := .venv-beam
TORCHVENV := .venv-torch
TFODVENV := .venv-tfod
DMVENV := .venv-datumaro
# the oracle of --from coco, yolo and voc (test-only); 1.13.12 installs in seconds from wheels
DATUMARO := datumaro==1.13.12
# the CPU build on this project's machines' disk (for their Python 3.11); newer ones download GBs
TORCH := torch==2.13.0
PROTOVENV := .venv-proto
DISTVENV := .venv-dist
# bundles protoc 31.1 -> gencode 6.31.1, which protobuf promises on 6.31.1 - 7.x (pyproject.toml)
GRPCIO_TOOLS := grpcio-tools==1.80.0
BIN := $(VENV)/bin

.PHONY: all venv demo test check lint unit unit-c unit-pure matrix edgefirst beam torch tfod datumaro dist-check wheel proto proto-check protobuf-ends compat bench bench-full golden fuzz asan fuzz-long arm-check image image-test clean

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

test: lint proto-check matrix unit-pure protobuf-ends compat edgefirst beam torch tfod datumaro dist-check

# the fast loop while editing: ruff and the unit suite in .venv (a minute or two, no TensorFlow)
check: lint unit

lint: $(BIN)/.ok
	$(BIN)/ruff check tfrecord_lite tests benchmarks examples scripts fuzz setup.py

# the unit suite: everything but the oracles' folders, which run in venvs of their own
UNIT_TESTS := tests --ignore=tests/compat --ignore=tests/edgefirst --ignore=tests/beam --ignore=tests/pytorch --ignore=tests/tfod --ignore=tests/datumaro

# the unit suite twice: with the C speedups (which must have been built: a silent fallback would
# test the pure path twice), then on the pure-Python reference path (TFRECORD_LITE_PURE=1)
unit: unit-c unit-pure

unit-c: $(BIN)/.ok
	$(BIN)/pip install -q --no-deps -e . 2>&1 | grep -E '^tfrecord_lite:' || true
	$(BIN)/python -c 'import sys, tfrecord_lite as t; print("unit-c:", t.speedups); sys.exit(not t.speedups.compiled)'
	$(BIN)/python -m pytest -q -p no:cacheprovider $(UNIT_TESTS)

unit-pure: $(BIN)/.ok
	TFRECORD_LITE_PURE=1 $(BIN)/python -m pytest -q -p no:cacheprovider $(UNIT_TESTS)

# the unit suite on each CPython pyproject.toml claims that is found here (venvs in .venv-matrix/)
matrix:
	UNIT_TESTS='$(UNIT_TESTS)' bash scripts/matrix.sh

# build the sdist and the wheel, check their metadata and contents, and that the sdist builds
# the same wheel as the tree (scripts/dist_check.py; tools pinned in .venv-dist)
DIST_TOOLS := build==1.6.1 twine==7.0.0
$(DISTVENV)/.ok-$(firstword $(DIST_TOOLS)): Makefile
	$(PY) -m venv $(DISTVENV)
	$(DISTVENV)/bin/pip install -q $(DIST_TOOLS)
	touch '$@'

dist-check: $(DISTVENV)/.ok-$(firstword $(DIST_TOOLS))
	$(DISTVENV)/bin/python scripts/dist_check.py

# the wheel of this machine's Python and platform (built from the sdist, both in dist/), with
# the C core where a compiler works, and its tag checked against that (platform-tagged with the
# C core, py3-none-any without: scripts/dist_check.py --tag); release wheels (manylinux and musllinux, x86_64 and
# aarch64) are cibuildwheel's, configured in pyproject.toml
wheel: $(DISTVENV)/.ok-$(firstword $(DIST_TOOLS))
	rm -rf dist && mkdir -p build
	$(DISTVENV)/bin/python -m build --outdir dist . > build/wheel.log 2>&1 || { cat build/wheel.log; exit 1; }
	@grep -E '^tfrecord_lite:' build/wheel.log || true
	@$(DISTVENV)/bin/python scripts/dist_check.py --tag dist/*.whl

$(PROTOVENV)/.ok-$(GRPCIO_TOOLS):
	$(PY) -m venv $(PROTOVENV)
	$(PROTOVENV)/bin/pip install -q $(GRPCIO_TOOLS)
	touch '$@'

proto: $(PROTOVENV)/.ok-$(GRPCIO_TOOLS)
	bash scripts/gen_protos.sh $(PROTOVENV)/bin/python tfrecord_lite/_protos

proto-check: $(PROTOVENV)/.ok-$(GRPCIO_TOOLS)
	bash scripts/gen_protos.sh $(PROTOVENV)/bin/python --check

protobuf-ends:
	bash scripts/protobuf_ends.sh $(PY)

# Made anew each time: TensorFlow's side first (it picks its own protobuf, Pillow, ...), a record
# of what it installed, then the test-only oracles and our package on top;
# tests/compat/test_coexistence_compat.py checks that installing ours changed none of those
# versions and that `pip check` is clean.
$(TFVENV)/.ok: pyproject.toml benchmarks/requirements-tf.txt tests/compat/requirements-oracle.txt
	rm -rf $(TFVENV)
	$(PY) -m venv $(TFVENV)
	$(TFVENV)/bin/pip install -q --upgrade pip
	$(TFVENV)/bin/pip install -q -r benchmarks/requirements-tf.txt
	$(TFVENV)/bin/pip install -q -r tests/compat/requirements-oracle.txt
	$(TFVENV)/bin/pip list --format=json > $(TFVENV)/before-tfrecord-lite.json
	$(TFVENV)/bin/pip install -q -e .
	touch $@

compat: $(TFVENV)/.ok
	$(TFVENV)/bin/python -m pytest -q -p no:cacheprovider tests/compat

# Au-Zone's edgefirst-client (the [edgefirst] extra) and pycocotools as oracles of -f coco and
# -f edgefirst, in their own venv (test-only: neither is in the core install or the container)
$(EFVENV)/.ok: pyproject.toml
	rm -rf $(EFVENV)
	$(PY) -m venv $(EFVENV)
	$(EFVENV)/bin/pip install -q --upgrade pip
	$(EFVENV)/bin/pip install -q -e '.[edgefirst,dev]' 'pycocotools>=2.0.8,<3'
	touch $@

edgefirst: $(EFVENV)/.ok
	$(EFVENV)/bin/python -m pytest -q -p no:cacheprovider tests/edgefirst

# --engine beam on Beam's local FnApiRunner (the [beam] extra), in its own venv: byte-identical
# to the plain converter, same counts, errors and publishing (tests/beam)
$(BEAMVENV)/.ok: pyproject.toml
	rm -rf $(BEAMVENV)
	$(PY) -m venv $(BEAMVENV)
	$(BEAMVENV)/bin/pip install -q --upgrade pip
	$(BEAMVENV)/bin/pip install -q -e '.[beam,dev]'
	touch $@

beam: $(BEAMVENV)/.ok
	$(BEAMVENV)/bin/python -m pytest -q -p no:cacheprovider tests/beam

# TFRecordDataset under the real torch DataLoader (forked and spawned workers), in its own venv:
# torch is test-only, never in the core install or the container
$(TORCHVENV)/.ok-$(TORCH): pyproject.toml
	rm -rf $(TORCHVENV)
	$(PY) -m venv $(TORCHVENV)
	$(TORCHVENV)/bin/pip install -q --upgrade pip
	$(TORCHVENV)/bin/pip install -q '$(TORCH)'
	$(TORCHVENV)/bin/pip install -q -e . pytest
	touch '$@'

torch: $(TORCHVENV)/.ok-$(TORCH)
	$(TORCHVENV)/bin/python -m pytest -q -p no:cacheprovider tests/pytorch

# TF Model Garden's TfExampleDecoder (tf-models-official and the TensorFlow it pins) decodes
# every record -f tfod writes, in its own venv: test-only, never in the core install or the image
$(TFODVENV)/.ok: pyproject.toml tests/tfod/requirements.txt
	rm -rf $(TFODVENV)
	$(PY) -m venv $(TFODVENV)
	$(TFODVENV)/bin/pip install -q --upgrade pip
	$(TFODVENV)/bin/pip install -q -r tests/tfod/requirements.txt
	$(TFODVENV)/bin/pip install -q -e .
	$(TFODVENV)/bin/pip check
	touch $@

tfod: $(TFODVENV)/.ok
	$(TFODVENV)/bin/python -m pytest -q -p no:cacheprovider tests/tfod

# Intel's Datumaro imports the same COCO, YOLO and VOC samples as our readers (tests/datumaro):
# every image, box, label and flag must agree; in its own venv, never in the core install
$(DMVENV)/.ok-$(DATUMARO): pyproject.toml
	rm -rf $(DMVENV)
	$(PY) -m venv $(DMVENV)
	$(DMVENV)/bin/pip install -q --upgrade pip
	$(DMVENV)/bin/pip install -q '$(DATUMARO)' 'pytest>=7'
	$(DMVENV)/bin/pip install -q -e .
	touch '$@'

datumaro: $(DMVENV)/.ok-$(DATUMARO)
	$(DMVENV)/bin/python -m pytest -q -p no:cacheprovider tests/datumaro

# every table, side by side with TensorFlow and the tfrecord package; writes benchmarks/RESULTS.md
bench: $(TFVENV)/.ok
	$(TFVENV)/bin/python benchmarks/run.py

# the same plus the TF converter's peak memory on the 100,000-line manifest, fetching images
# from S3 (benchmarks/bench_s3.py in .venv, which has boto3 and moto), and --engine beam against
# the plain converter (benchmarks/bench_beam.py in .venv-beam)
bench-full: $(TFVENV)/.ok $(BIN)/.ok $(BEAMVENV)/.ok
	$(TFVENV)/bin/python benchmarks/run.py --full
	$(BEAMVENV)/bin/python benchmarks/bench_beam.py

golden: $(TFVENV)/.ok
	$(TFVENV)/bin/python tests/golden/make_golden.py

fuzz: $(BIN)/.ok
	bash scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

# the C speedups under AddressSanitizer + UBSan: the record and Example tests, then each fuzz
# target for ASAN_FUZZ_SECONDS (needs .venv-fuzz, which make fuzz makes)
asan: $(BIN)/.ok
	bash scripts/asan.sh $(or $(ASAN_FUZZ_SECONDS),10)

# the C core cross-compiled for aarch64 (the edge hosts) and run under qemu-aarch64 in Debian's
# arm64 Python: scripts/arm_check.py's CRC-32C known answers, then the CRC, speedups, records and
# tracer tests (root on Debian 12; the arm64 tree and wheels are cached in build/arm)
arm-check:
	bash scripts/arm-check.sh

# each fuzz target (FUZZ_TARGETS: all five) for FUZZ_RUNS inputs (1M by default) under the
# sanitizers with coverage, failing on a leak at exit or when RSS grows more than
# FUZZ_RSS_GROWTH_MB (16) over the second half of the runs (needs .venv-fuzz: make fuzz makes it)
fuzz-long: $(BIN)/.ok
	ASAN_TESTS=0 FUZZ_RUNS=$(or $(FUZZ_RUNS),1000000) bash scripts/asan.sh

image:
	bash scripts/image.sh

image-test:
	bash scripts/image-test.sh

clean:
	rm -rf build dist .venv .venv-tf .venv-tfod .venv-torch .venv-proto .venv-hadolint .venv-fuzz .venv-pb-* .venv-matrix .venv-dist .venv-edgefirst .venv-beam .venv-datumaro *.egg-info
