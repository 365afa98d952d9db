#!/usr/bin/env bash
# make matrix: the unit suite on every CPython the package claims (the "Programming Language ::
# Python :: 3.X" classifiers in pyproject.toml), with the C speedups built for each (a version
# where they are not built fails), each in its own venv under .venv-matrix/3.X
# (kept between runs; remade when pyproject.toml or the interpreter changes).
# An interpreter is python3.X on PATH that runs and is 3.X; where that is a pyenv shim for a
# version not selected, the newest $(pyenv root)/versions/3.X.*/bin/python3.X. A claimed
# version with no interpreter here is reported, not a failure; a failing suite is a failure,
# and so is finding none of them.
#   usage: [MATRIX_VERSIONS="3.X ..."] matrix.sh [EXTRA PYTEST OPTIONS...]
set -uo pipefail
cd "$(dirname "$0")/.."
unit_tests=${UNIT_TESTS:?matrix.sh runs from make matrix, which says what the unit suite is}
root=.venv-matrix
logs=build/matrix
mkdir -p "$root" "$logs"
versions=${MATRIX_VERSIONS:-$(grep -oE '"Programming Language :: Python :: 3\.[0-9]+"' \
  pyproject.toml | grep -oE '3\.[0-9]+' | sort -t. -k2 -n)}   # MATRIX_VERSIONS="3.11 3.14": others
[ -n "$versions" ] || { echo "matrix: no 'Python :: 3.X' classifiers in pyproject.toml" >&2; exit 1; }

find_python() {  # $1 = 3.X; prints the path of a working interpreter of that version
  local v=$1 cand real
  local cands=()
  cand=$(command -v "python$v" 2>/dev/null) && cands+=("$cand")
  local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
  for cand in $(ls -d "$pyenv_root"/versions/"$v".*/bin/"python$v" 2>/dev/null | sort -V -r); do
    cands+=("$cand")
  done
  for cand in "${cands[@]}"; do
    # the interpreter itself, not a shim or symlink in front of it
    real=$("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2], sys.executable)' 2>/dev/null)
    if [ "${real%% *}" = "$v" ]; then
      echo "${real#* }"; return 0
    fi
  done
  return 1
}

rows=(); missing=(); failed=0; ran=0; start=$SECONDS
for v in $versions; do
  if ! py=$(find_python "$v"); then
    echo "== python$v: not found (no working python$v on PATH, none under pyenv)"
    missing+=("$v"); rows+=("$(printf '%-6s %-9s %s' "$v" "-" "not found here: not tested")")
    continue
  fi
  venv=$root/$v
  full=$("$py" -c 'import sys; print(sys.version.split()[0])')
  want="$(sha256sum pyproject.toml | cut -c1-16) $full $py"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
    echo "== python$v ($py): making $venv"
    rm -rf "$venv"
    if ! { "$py" -m venv "$venv" && "$venv/bin/pip" install -q --upgrade pip \
        && "$venv/bin/pip" install -q -e '.[dev]'; } > "$logs/$v-install.log" 2>&1; then
      cat "$logs/$v-install.log"
      rows+=("$(printf '%-6s %-9s %s' "$v" "$full" "FAILED to install (see $logs/$v-install.log)")")
      failed=1; continue
    fi
    echo "$want" > "$venv/.stamp"
  fi
  # the C core is rebuilt for this interpreter (its .so sits in the tree, one per ABI) and
  # must be the path in use: the matrix tests the compiled path on every claimed CPython
  "$venv/bin/pip" install -q --no-deps -e . > "$logs/$v-build.log" 2>&1
  path=$("$venv/bin/python" -c 'import tfrecord_lite as t; print(t.speedups)')
  if ! "$venv/bin/python" -c 'import sys, tfrecord_lite as t; sys.exit(not t.speedups.compiled)'; then
    cat "$logs/$v-build.log"
    rows+=("$(printf '%-6s %-9s %s' "$v" "$full" "FAILED: not compiled ($path)")")
    failed=1; continue
  fi
  deps=$("$venv/bin/python" -c 'import importlib.metadata as m
print(", ".join(f"{d} {m.version(d)}" for d in ("protobuf", "pillow", "crc32c", "pyyaml")))')
  deps="$path; $deps"
  echo "== python$v ($py, $full): $deps"
  t0=$SECONDS
  # shellcheck disable=SC2086  # the Makefile's UNIT_TESTS: the one list of what the unit suite is
  "$venv/bin/python" -m pytest -q -p no:cacheprovider $unit_tests "$@" \
    > "$logs/$v.log" 2>&1
  rc=$?
  summary=$(grep -E '^=* ?[0-9]+ (passed|failed|errors?|skipped)|no tests ran' "$logs/$v.log" \
    | tail -1 | sed 's/=//g; s/^ *//; s/ in [0-9.]*s.*$//')
  ran=$((ran + 1))
  if [ $rc -ne 0 ]; then
    tail -40 "$logs/$v.log"
    failed=1
    rows+=("$(printf '%-6s %-9s FAILED: %s (%ds; %s)' "$v" "$full" "${summary:-exit $rc}" $((SECONDS - t0)) "$deps")")
  else
    rows+=("$(printf '%-6s %-9s %s (%ds; %s)' "$v" "$full" "$summary" $((SECONDS - t0)) "$deps")")
  fi
  echo "   $summary"
done

echo
echo "matrix: unit suite per claimed CPython ($((SECONDS - start)) s; logs in $logs/)"
printf '  %s\n' "${rows[@]}"
[ ${#missing[@]} -eq 0 ] || echo "matrix: not found here, so not tested: ${missing[*]} (reported, not a failure)"
if [ $ran -eq 0 ]; then echo "matrix: FAILED: none of the claimed interpreters ($versions) was found" >&2; exit 1; fi
if [ $failed -ne 0 ]; then echo "matrix: FAILED" >&2; exit 1; fi
echo "matrix: passed on $ran of $(echo $versions | wc -w) claimed interpreters"
