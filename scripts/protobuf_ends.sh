#!/usr/bin/env bash
# Run the library's tests on both ends of the declared protobuf range (pyproject.toml):
# the lowest runtime our gencode accepts and the newest of the next major version.
set -euo pipefail
py=${1:-python3}
cd "$(dirname "$0")/.."
for pin in "protobuf==5.29.1" "protobuf>=6,<7"; do
  venv=".venv-pb-$(echo "$pin" | tr -c 'a-z0-9.' '_')"
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
  fi
  "$venv/bin/pip" install -q "$pin" -e . pytest hypothesis
  echo "== $("$venv/bin/python" -c 'import google.protobuf as p; print("protobuf", p.__version__)')"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_example.py tests/test_records.py tests/test_shards.py tests/test_crc.py tests/test_modelpack.py tests/test_golden.py tests/test_properties.py
done
