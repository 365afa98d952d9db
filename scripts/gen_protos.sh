#!/usr/bin/env bash
# Generate tfrecord_lite/_protos/*_pb2.py(i) from proto/ with the pinned protoc.
#   gen_protos.sh PYTHON OUTDIR     regenerate into OUTDIR (the package for `make proto`)
#   gen_protos.sh PYTHON --check    fail when the committed files differ from a fresh generation
set -euo pipefail
py=$1; target=$2
cd "$(dirname "$0")/.."
gen() {  # $1: output root (files land in $1/tfrecord_lite/_protos)
  mkdir -p "$1"
  "$py" -m grpc_tools.protoc -Iproto --python_out="$1" --pyi_out="$1" \
    proto/tfrecord_lite/_protos/feature.proto proto/tfrecord_lite/_protos/example.proto
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gen "$tmp"
if [ "$target" = "--check" ]; then
  status=0
  for f in "$tmp"/tfrecord_lite/_protos/*; do
    name=$(basename "$f")
    if ! cmp -s "$f" "tfrecord_lite/_protos/$name"; then
      echo "proto-check: tfrecord_lite/_protos/$name is out of date with proto/ or was made by another protoc; run 'make proto'" >&2
      diff -u "tfrecord_lite/_protos/$name" "$f" | head -20 >&2 || true
      status=1
    fi
  done
  [ $status = 0 ] && echo "proto-check: generated code matches proto/ and $("$py" -m grpc_tools.protoc --version)"
  exit $status
fi
cp "$tmp"/tfrecord_lite/_protos/* "$target"/
echo "generated into $target"
