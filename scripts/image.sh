#!/usr/bin/env bash
# make image: build the container image `tfrecord-lite` from the Dockerfile.
# With a Docker daemon: docker build. Without one: buildah (Debian package), on a stand-in base
# image when python:3.11-slim cannot be pulled (see scripts/container/make-base.sh).
set -euo pipefail
# shellcheck source=scripts/container/lib.sh
. "$(dirname "$0")/container/lib.sh"

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    step "docker build -t tfrecord-lite ."
    docker build -t tfrecord-lite "$ROOT"
    exit 0
fi

step "no Docker daemon answers (docker info failed): building with buildah instead"
mkdir -p "$CACHE"
ensure_buildah
ensure_base
build_image
cat <<EOT

Built $IMAGE into containers storage (/var/lib/containers). Run it with podman, e.g.:
  podman run --rm -v DIR:/data_in -v OUT:/data_out $IMAGE \\
      --annotations=/data_in/output-manifest --split 0.2 --partition=100
(where podman's default runtime fails, use scripts/image-test.sh's settings: --runtime runc
 --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
EOT
