#!/usr/bin/env bash
# make arm-check: the C core builds and runs on aarch64 (the edge hosts). Every extension setup.py
# declares is cross-compiled by Debian's gcc-aarch64-linux-gnu against Debian bookworm's arm64
# Python 3.11 and glibc (a debootstrap --foreign root filesystem, used as the sysroot), then run
# under qemu-aarch64 in that arm64 Python: scripts/arm_check.py (both modules import, ARMv8
# hardware CRC-32C and the table fallback give the known answers and the pure path's), then the
# CRC, speedups, records and tracer tests with the C core and on the pure path.
# Run as root on Debian 12; needs only Debian's and PyPI's registries. Idempotent: the root
# filesystem and the arm64 wheels are cached in build/arm/ (keyed on what they hold); reruns
# cross-compile a fresh copy of the tree and run the checks.
set -euo pipefail
# shellcheck source=scripts/container/lib.sh
. "$(dirname "$0")/container/lib.sh"

ARM="$ROOT/build/arm"
ROOTFS="$ARM/rootfs"
SITE="$ARM/site"
SRC="$ARM/src"
PY_ARM="$ROOTFS/usr/bin/python3-qemu"   # a host script: qemu-aarch64 running the arm64 python
SUITE=bookworm
DEBS="python3,libpython3.11-dev"        # the interpreter, its headers, glibc's headers and libs
TESTS=(tests/test_crc.py tests/test_speedups.py tests/test_records.py tests/test_tracer.py)
PURE_TESTS=(tests/test_crc.py tests/test_records.py)
start=$SECONDS
mkdir -p "$ARM"

step "1/5 tools: qemu-user-static, gcc-aarch64-linux-gnu, debootstrap, file"
need_pkgs qemu-aarch64-static:qemu-user-static aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu \
    debootstrap:debootstrap file:file
info "$(aarch64-linux-gnu-gcc --version | head -1); $(qemu-aarch64-static --version | head -1)"

step "2/5 Debian $SUITE arm64 root filesystem ($DEBS)"
stamp="$ROOTFS/.ok-$SUITE-${DEBS//,/-}"
if [ ! -e "$stamp" ]; then
    t0=$SECONDS
    rm -rf "$ROOTFS"
    mirror=$(debian_mirror)
    info "debootstrap --foreign --arch=arm64 --variant=minbase --include=$DEBS $SUITE ($mirror)"
    debootstrap --foreign --arch=arm64 --variant=minbase --include="$DEBS" \
        "$SUITE" "$ROOTFS" "$mirror" >"$ARM/debootstrap.log" 2>&1 \
        || { tail -20 "$ARM/debootstrap.log"; die "debootstrap failed (log: $ARM/debootstrap.log)"; }
    # the first stage unpacks only the base; the rest is unpacked here, no arm64 code run
    # (nothing needs the maintainer scripts: Python and the headers are plain files)
    for deb in "$ROOTFS"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$ROOTFS"; done
    rm -f "$ROOTFS"/var/cache/apt/archives/*.deb
    touch "$stamp"
    info "made in $((SECONDS - t0)) s"
else
    info "cached: $ROOTFS"
fi
# -0: the interpreter's argv[0] is this script, so sys.executable runs under qemu again (the
# tests start subprocesses) and Python finds its library beside it; -L: arm64's loader and libs
cat >"$PY_ARM" <<EOT
#!/bin/sh
exec qemu-aarch64-static -L "$ROOTFS" -0 "\$0" "$ROOTFS/usr/bin/python3.11" "\$@"
EOT
chmod +x "$PY_ARM"
info "$("$PY_ARM" -c 'import platform, sys; print("python", sys.version.split()[0], "on", platform.machine())')"

step "3/5 arm64 wheels of the dependencies, pytest, hypothesis and setuptools (PyPI)"
# what pyproject.toml asks for: the runtime dependencies, the build backend, the test tools
mapfile -t reqs < <(python3 - "$ROOT/pyproject.toml" <<'PYEOF'
import sys, tomllib
data = tomllib.load(open(sys.argv[1], "rb"))
dev = [r for r in data["project"]["optional-dependencies"]["dev"]
       if r.split(">")[0].split("=")[0] in ("pytest", "hypothesis")]
print(*data["project"]["dependencies"], *data["build-system"]["requires"], *dev, sep="\n")
PYEOF
)
key=$(printf '%s\n' "${reqs[@]}" | sha256sum | cut -c1-16)
if [ ! -e "$SITE/.ok-$key" ]; then
    rm -rf "$SITE"
    pip=(python3 -m pip)
    if ! python3 -m pip --version >/dev/null 2>&1; then
        python3 -c 'import ensurepip' 2>/dev/null || need_pkgs __none__:python3-venv
        python3 -m venv "$ARM/pip-venv"
        pip=("$ARM/pip-venv/bin/pip")
    fi
    "${pip[@]}" install --disable-pip-version-check -q --target "$SITE" --only-binary=:all: \
        --python-version 3.11 --implementation cp --abi cp311 \
        --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 \
        --platform manylinux2014_aarch64 "${reqs[@]}" >"$ARM/pip.log" 2>&1 \
        || { cat "$ARM/pip.log"; die "pip install --target $SITE failed"; }
    touch "$SITE/.ok-$key"
    info "installed: ${reqs[*]}"
else
    info "cached: $SITE (${reqs[*]})"
fi

step "4/5 cross-compile setup.py's extensions (aarch64-linux-gnu-gcc, sysroot: the arm64 tree)"
rm -rf "$SRC"
mkdir -p "$SRC"
(cd "$ROOT" && git ls-files -z -c -o --exclude-standard -- tfrecord_lite tests setup.py \
    pyproject.toml README.md LICENSE | tar --null -T - -cf -) | tar -C "$SRC" -xf -
# the arm64 Python runs setup.py (so its sysconfig names the compiler, aarch64-linux-gnu-gcc,
# and the module suffix); the compiler is the host's cross gcc, given the arm64 tree as sysroot
(cd "$SRC" && PYTHONPATH="$SITE" CFLAGS="--sysroot=$ROOTFS" LDFLAGS="--sysroot=$ROOTFS" \
    "$PY_ARM" setup.py build_ext --inplace -I "$ROOTFS/usr/include/python3.11" \
    >"$ARM/build.log" 2>&1) || { cat "$ARM/build.log"; die "setup.py build_ext failed"; }
if grep -q '^tfrecord_lite: C speedups not built' "$ARM/build.log"; then
    cat "$ARM/build.log"
    die "the C core did not cross-compile (log: $ARM/build.log)"
fi
while IFS= read -r so; do
    info "$(file -b "$so" | cut -d, -f1-2): ${so#"$SRC"/}"
done < <(find "$SRC/tfrecord_lite" -name '*.so' | sort)

step "5/5 under qemu-aarch64: the checker, then the tests (C core, then pure path)"
export PYTHONPATH="$SRC:$SITE" PYTHONDONTWRITEBYTECODE=1
"$PY_ARM" "$ROOT/scripts/arm_check.py" "$SRC"
(cd "$SRC" && "$PY_ARM" -m pytest -q -p no:cacheprovider "${TESTS[@]}")
(cd "$SRC" && TFRECORD_LITE_PURE=1 "$PY_ARM" -m pytest -q -p no:cacheprovider "${PURE_TESTS[@]}")

printf '\narm-check passed in %d s\n' $((SECONDS - start))
