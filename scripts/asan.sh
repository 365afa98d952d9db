#!/usr/bin/env bash
# make asan: the C speedups and the mask tracer built with AddressSanitizer and
# UndefinedBehaviorSanitizer (any report aborts), then the record, Example and tracer tests and
# a short run of each differential fuzz target under them, in a copy of the package in build/asan/ (the tree's own build stays as it is).
#   usage: asan.sh [FUZZ_SECONDS_PER_TARGET]   (needs .venv and .venv-fuzz: make venv, make fuzz)
set -euo pipefail
seconds=${1:-10}
cd "$(dirname "$0")/.."
root=$PWD
py=$root/.venv/bin/python
out=$root/build/asan
rm -rf "$out"
mkdir -p "$out"
cp -r tfrecord_lite "$out/"
find "$out/tfrecord_lite" \( -name '*.so' -o -name __pycache__ \) -prune -exec rm -rf {} +
suffix=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
include=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
cc=${CC:-gcc}
for module in tfrecord_lite/format/_speedups tfrecord_lite/pipeline/formats/_tracer; do
    echo "== $cc -fsanitize=address,undefined: $module$suffix"
    "$cc" -shared -fPIC -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
        -fno-sanitize-recover=all -ffp-contract=off -Wall -Wextra -Werror -I"$include" \
        "$module.c" -o "$out/$module$suffix" -lm
done

# Python is not built with ASan: the runtime must come first; its leak report would be about
# the interpreter, not us
export LD_PRELOAD="$("$cc" -print-file-name=libasan.so) $("$cc" -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONPATH=$out   # before the editable install's finder: the sanitized copy is imported
# run from a folder without the package: a test's subprocess given a fresh environment (no
# LD_PRELOAD, no PYTHONPATH) then imports the tree's own build, not the sanitized one
mkdir -p "$out/run"
cd "$out/run"
check='import sys, tfrecord_lite.format._speedups as s, tfrecord_lite.pipeline.formats._tracer as t
sys.exit(not (s.__file__.startswith(sys.argv[1]) and t.__file__.startswith(sys.argv[1])))'
"$py" -c "$check" "$out" || { echo "asan: the sanitized build is not the one imported" >&2; exit 1; }
echo "== tests under the sanitizers"
"$py" -m pytest -q -p no:cacheprovider --rootdir "$root" -c "$root/pyproject.toml" \
    "$root/tests/test_speedups.py" "$root/tests/test_records.py" \
    "$root/tests/test_records_walk.py" "$root/tests/test_golden.py" \
    "$root/tests/test_example.py" "$root/tests/test_crc.py" "$root/tests/test_tracer.py" \
    "$root/tests/test_polygons.py"
if [ "$seconds" -gt 0 ]; then
    fuzzpy=$root/.venv-fuzz/bin/python
    [ -x "$fuzzpy" ] || { echo "asan: no .venv-fuzz (make fuzz makes it)" >&2; exit 1; }
    for target in "$root"/fuzz/fuzz_records.py "$root"/fuzz/fuzz_example.py \
            "$root"/fuzz/fuzz_encode.py \
            "$root"/fuzz/fuzz_tracer.py; do
        name=$(basename "$target" .py)
        mkdir -p "$out/fuzz/$name"
        seeds=$root/fuzz/seeds/$name; [ -d "$seeds" ] || seeds=""
        echo "== $name under the sanitizers: ${seconds}s"
        "$fuzzpy" -c "$check" "$out"
        "$fuzzpy" "$target" -max_total_time="$seconds" -rss_limit_mb=4096 \
            -artifact_prefix="$out/fuzz/$name/" "$out/fuzz/$name" $seeds \
            2> "$out/fuzz/$name/log.txt" || { tail -40 "$out/fuzz/$name/log.txt" >&2; exit 1; }
        grep -E "Done [0-9]+ runs" "$out/fuzz/$name/log.txt" | tail -1 || true
    done
fi
echo "asan: clean"
