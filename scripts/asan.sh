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
if [ "${ASAN_TESTS:-1}" != 0 ]; then
echo "== tests under the sanitizers"
"$py" -m pytest -q -p no:cacheprovider --rootdir "$root" -c "$root/pyproject.toml" \
    "$root/tests/test_speedups.py" "$root/tests/test_records.py" \
    "$root/tests/test_records_walk.py" "$root/tests/test_golden.py" \
    "$root/tests/test_example.py" "$root/tests/test_crc.py" "$root/tests/test_tracer.py" \
    "$root/tests/test_polygons.py"
fi
# the fuzz targets under atheris' own runtime (clang's ASan + UBSan + libFuzzer in one): with
# GCC's runtime preloaded instead, libFuzzer saw no coverage at all (no `cov:`, corp stuck at
# 1/1b), so "fuzzing" was random bytes.  GCC has no inline counters, so the extensions are
# built again with -fsanitize-coverage=trace-pc,trace-cmp and fuzz/gcc_cov.c, which turns each
# basic block's PC into a libFuzzer counter; they are linked without GCC's libasan (the
# preloaded runtime resolves the sanitizer calls), and PYTHONMALLOC=malloc lets ASan see
# Python's allocations too.  A run whose `cov:` never grows past its start fails.
# Leaks: LeakSanitizer checks at exit, when the interpreter still holds everything it uses, so
# it reports only blocks nothing points to (an object a missing Py_DECREF left behind, with the
# stack that made it); libFuzzer's own per-input check is off (Python's caches trip it).  With
# FUZZ_RUNS, ASan's quarantine is 1 MB, not 256: freed blocks held back in the quarantine grew
# RSS by 100 MB over a run with no leak at all (at 16 MB, by 19 MB), which the RSS check blamed.
fuzz_target() {  # NAME TARGET LIMIT...: one target, its log checked for coverage and RSS growth
    local name=$1 target=$2; shift 2
    local dir=$fout/fuzz/$name seeds=$root/fuzz/seeds/$name
    [ -d "$seeds" ] || seeds=""
    mkdir -p "$dir/corpus"
    echo "== $name under the sanitizers with coverage: $*"
    (cd "$fout/run" && LD_PRELOAD=$fuzzrt PYTHONMALLOC=malloc PYTHONPATH=$fout "$fuzzpy" -c "$check" "$fout")
    (cd "$fout/run" && LD_PRELOAD=$fuzzrt PYTHONMALLOC=malloc PYTHONPATH=$fout FUZZ_C_COVERAGE=1 \
        ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=1${FUZZ_RUNS:+:quarantine_size_mb=1} \
        "$fuzzpy" "$target" "$@" -detect_leaks=0 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$dir/" "$dir/corpus" $seeds 2> "$dir/log.txt") \
        || { tail -40 "$dir/log.txt" >&2; exit 1; }
    "$py" "$root/fuzz/check_log.py" "$dir/log.txt" || { tail -20 "$dir/log.txt" >&2; exit 1; }
}
fuzzpy=$root/.venv-fuzz/bin/python
if [ "$seconds" != 0 ] || [ -n "${FUZZ_RUNS:-}" ]; then
    [ -x "$fuzzpy" ] || { echo "asan: no .venv-fuzz (make fuzz makes it)" >&2; exit 1; }
    fuzzrt=$("$fuzzpy" -c 'import atheris, os; print(os.path.dirname(os.path.dirname(atheris.__file__)))')/asan_with_fuzzer.so
    [ -f "$fuzzrt" ] || { echo "asan: atheris has no $fuzzrt" >&2; exit 1; }
    fout=$root/build/asan-fuzz
    rm -rf "$fout"
    mkdir -p "$fout/run"
    cp -r "$root/tfrecord_lite" "$fout/"
    find "$fout/tfrecord_lite" \( -name '*.so' -o -name __pycache__ \) -prune -exec rm -rf {} +
    "$cc" -c -fPIC -O1 -g -Wall -Wextra -Werror "$root/fuzz/gcc_cov.c" -o "$fout/gcc_cov.o"
    for module in tfrecord_lite/format/_speedups tfrecord_lite/pipeline/formats/_tracer; do
        "$cc" -c -fPIC -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=all -fsanitize-coverage=trace-pc,trace-cmp -ffp-contract=off \
            -Wall -Wextra -Werror -I"$include" "$root/$module.c" -o "$fout/$module.o"
        "$cc" -shared "$fout/$module.o" "$fout/gcc_cov.o" -o "$fout/$module$suffix" -lm
    done
    unset LD_PRELOAD
    # the leak check's own proof: a target that leaks a bytes object per input must fail
    leaky='import atheris, ctypes, sys
atheris.Setup(sys.argv, lambda data: ctypes.pythonapi.Py_IncRef(ctypes.py_object(b"x" + data)))
atheris.Fuzz()'
    if (cd "$fout/run" && LD_PRELOAD=$fuzzrt PYTHONMALLOC=malloc ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=1 \
        "$fuzzpy" -c "$leaky" -runs=20 -detect_leaks=0 > "$fout/leak-check.txt" 2>&1); then
        echo "asan: LeakSanitizer missed a leak at exit (see $fout/leak-check.txt)" >&2; exit 1
    fi
    for target in ${FUZZ_TARGETS:-fuzz_records fuzz_example fuzz_encode fuzz_headers fuzz_tracer}; do
        if [ -n "${FUZZ_RUNS:-}" ]; then
            fuzz_target "$target" "$root/fuzz/$target.py" -runs="$FUZZ_RUNS"
        else
            fuzz_target "$target" "$root/fuzz/$target.py" -max_total_time="$seconds"
        fi
    done
fi
echo "asan: clean"
