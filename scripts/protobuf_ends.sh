#!/usr/bin/env bash
# Run the library's tests on both ends of the declared protobuf range, read from pyproject.toml
# ("protobuf>=LOW,<NEXT"): exactly LOW, the lowest runtime our gencode accepts, and the newest
# release below NEXT (the newest of the last major the range allows). Fails when the installed
# runtime is not the end it was meant to be.
set -euo pipefail
py=${1:-python3}
cd "$(dirname "$0")/.."
spec=$(grep -oE '"protobuf>=[0-9.]+,<[0-9]+"' pyproject.toml | tr -d '"') \
  || { echo "protobuf_ends: no \"protobuf>=LOW,<MAJOR\" dependency in pyproject.toml" >&2; exit 1; }
low=${spec#protobuf>=}; low=${low%%,*}
next=${spec##*<}
last=$((next - 1))
echo "protobuf_ends: declared $spec -> testing protobuf==$low and the newest $last.x"
for pin in "protobuf==$low" "protobuf>=$last,<$next"; do
  venv=".venv-pb-$(echo "$pin" | tr -c 'a-z0-9.' '_')"
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
  fi
  "$venv/bin/pip" install -q --upgrade "$pin" -e . pytest hypothesis
  got=$("$venv/bin/python" -c 'import google.protobuf as p; print(p.__version__)')
  case $pin in
    *==*) [ "$got" = "$low" ] || { echo "protobuf_ends: wanted $low, got $got" >&2; exit 1; } ;;
    *) [ "${got%%.*}" = "$last" ] || { echo "protobuf_ends: wanted $last.x, got $got" >&2; exit 1; } ;;
  esac
  echo "== protobuf $got ($pin), $("$venv/bin/python" -c 'import sys; print("Python", sys.version.split()[0])')"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_example.py tests/test_records.py tests/test_shards.py tests/test_crc.py tests/test_modelpack.py tests/test_golden.py tests/test_properties.py
done
