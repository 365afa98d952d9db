#!/usr/bin/env bash
# Coverage-guided fuzzing (atheris) of the record reader, the Example decoder and encoders,
# the manifest reader and the mask tracer, each for a bounded time.  Crashes are saved under
# build/fuzz/<target>/ and fail the run; turn each into a regression test.
#   usage: fuzz.sh SECONDS_PER_TARGET
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/.."
venv=.venv-fuzz
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
fi
"$venv/bin/pip" install -q atheris==3.0.0 -e .
status=0
for target in fuzz/fuzz_*.py; do
  name=$(basename "$target" .py)
  out=build/fuzz/$name; mkdir -p "$out/corpus"
  seeds=fuzz/seeds/$name; [ -d "$seeds" ] || seeds=""
  echo "== $name: ${seconds}s"
  if ! "$venv/bin/python" "$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -artifact_prefix="$out/" "$out/corpus" $seeds 2> "$out/log.txt"; then
    echo "!! $name found a crash; see $out/log.txt and $out/crash-*" >&2
    tail -30 "$out/log.txt" >&2
    status=1
  fi
  grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$out/log.txt" | tail -1 || true
done
exit $status
