#!/usr/bin/env bash
# Make a stand-in for python:3.11-slim as a root-filesystem tarball: debootstrap a minimal
# Debian bookworm, add Debian's python3 (3.11) + pip + venv and Python's headers (the official
# image has them: a build stage that adds gcc can compile extensions), slim it like Debian's
# slim images.
# Usage: make-base.sh OUT.tar     (needs root and debootstrap; the mirror comes from apt's sources)
set -euo pipefail

out=${1:?usage: make-base.sh OUT.tar}
suite=bookworm

# shellcheck source=scripts/container/lib.sh
. "$(dirname "$0")/lib.sh"
mirror=$(debian_mirror)

work=$(mktemp -d "$(dirname "$out")/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "    debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase \
    --include=python3,python3-pip,python3-venv,python-is-python3,libpython3.11-dev \
    "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# Slim: the same path-excludes Debian's docker "slim" images use, and drop what is already there.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,groff,info,locale,lintian,linda}/*
# the headers are what the official image has; not the static library that comes with them
find "$rootfs/usr/lib" -name 'libpython3*.a' -delete
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
# Behave like the official image: pip may install into the system Python (no PEP 668 marker).
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
find "$rootfs/usr/lib/python3" "$rootfs"/usr/lib/python3.* -name __pycache__ -prune \
    -exec rm -rf {} + 2>/dev/null || true
printf 'nameserver 127.0.0.1\n' >"$rootfs/etc/resolv.conf"   # replaced by the runtime
: >"$rootfs/etc/hostname"

tar -C "$rootfs" --numeric-owner -cf "$out.part" .
mv "$out.part" "$out"
echo "    wrote $out ($(du -m "$out" | cut -f1) MB)"
