# shellcheck shell=bash
# Shared helpers for scripts/image.sh, scripts/image-test.sh and scripts/arm-check.sh
# (sourced, not run).
#
# Builds happen with Debian's buildah (no Docker daemon needed). No registry is assumed to be
# reachable, so when the Dockerfile's base image is not in local storage a stand-in is made with
# debootstrap (scripts/container/make-base.sh) and imported under the base's name.
# See /work/shared/notes/container.md for why each piece is needed.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/build/container"                  # base tarball, podman config, test folders
BASE_IMAGE=${BASE_IMAGE:-localhost/python:3.11-slim}
IMAGE=${IMAGE:-localhost/tfrecord-lite:latest}
HOST_CA=/etc/ssl/certs/ca-certificates.crt

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Install Debian packages that are missing: "need_pkgs CMD:PKG ..." (CMD found => skip PKG).
need_pkgs() {
    local missing=() pair
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        info "already installed: ${*%%:*}"
        return
    fi
    [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]}"
    info "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >/dev/null
}

# The Debian mirror this machine's apt already uses (deb822 first, then the one-line format),
# so that no host name is written anywhere: for debootstrap (stand-in base, make arm-check).
debian_mirror() {
    local mirror=${DEBIAN_MIRROR:-}
    if [ -z "$mirror" ]; then
        mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' \
            /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    fi
    if [ -z "$mirror" ]; then
        mirror=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++)
            if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
    fi
    echo "${mirror:-http://deb.debian.org/debian}"
}

ensure_buildah() {
    need_pkgs buildah:buildah
}

# Make sure $BASE_IMAGE is in local storage; make the stand-in (cached tarball) if not.
ensure_base() {
    if buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
        info "base image present: $BASE_IMAGE"
        return
    fi
    local tarball="$CACHE/python-3.11-slim-standin.tar"
    if [ ! -s "$tarball" ]; then
        info "no $BASE_IMAGE and no registry: making a stand-in with debootstrap (once)"
        need_pkgs debootstrap:debootstrap
        bash "$ROOT/scripts/container/make-base.sh" "$tarball"
    fi
    info "importing $tarball as $BASE_IMAGE"
    local ctr
    ctr=$(buildah from scratch)
    buildah add --quiet "$ctr" "$tarball" / >/dev/null
    buildah config \
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 --cmd python3 \
        --label org.tfrecord-lite.stand-in="debootstrap bookworm minbase + Debian python3 3.11" \
        "$ctr"
    buildah commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
}

# Build the Dockerfile at the repository root with buildah: build_image [TAG [BUD-ARG...]]
# (TAG defaults to $IMAGE; the log goes to $CACHE/build-<tag>.log).
build_image() {
    local tag=${1:-$IMAGE} ca_mount=() old new log
    shift $(($# > 0))
    log="$CACHE/build-${tag##*:}.log"
    # pip inside the build must trust the host's CA bundle (a TLS-intercepting egress proxy
    # may sit in between); it is bind-mounted for the build only and never stored in a layer.
    [ -s "$HOST_CA" ] && ca_mount=(-v "$HOST_CA:$HOST_CA:ro")
    old=$(buildah inspect --type image --format '{{.FromImageID}}' "$tag" 2>/dev/null || true)
    # no --layers: nothing but the final image is kept, so reruns leave no dangling images
    buildah bud --isolation chroot --pull=never "${ca_mount[@]}" "$@" \
        -t "$tag" "$ROOT" >"$log" 2>&1 || { tail -40 "$log"; die \
        "buildah bud failed (log: $log)"; }
    # the build stage's word on the C core: apt-get's failure, setup.py's skip line, the wheel
    grep -E '^tfrecord[-_]lite|\.whl$' "$log" | sed 's/^/    build: /' || true
    new=$(buildah inspect --type image --format '{{.FromImageID}}' "$tag")
    if [ -n "$old" ] && [ "$old" != "$new" ]; then
        # the previous build of this tag is now untagged: drop it so reruns do not pile up
        buildah rmi "$old" >/dev/null 2>&1 || true
    fi
    info "built $tag (${new:0:12})"
}
