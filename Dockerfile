# tfrecord-lite: convert SageMaker Ground Truth output manifests + images to ModelPack datasets.
#
#   docker build -t tfrecord-lite .
#   docker run -it -v DIR:/data_in -v OUT:/data_out tfrecord-lite \
#       --annotations=/data_in/output-manifest --split 0.2 --partition=100
#
# Images are read from /data_in and the dataset is written to /data_out (an existing, empty
# folder) unless -i/--images or -o/--output say otherwise. The container runs as uid 10001;
# OUT must be writable by it, or add --user "$(id -u):$(id -g)".

# ---- stage 1: build the wheel of this project with its C core (its dependencies come as wheels
# in stage 2). gcc lives in this stage only; if apt-get fails (no Debian mirror reachable), the
# build goes on without it, says so in its log, and the wheel is pure Python (py3-none-any).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
# gcc unpinned (DL3008): whichever the base's Debian release has; a pin breaks at its next update
# hadolint ignore=DL3008
RUN { apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
        || echo "tfrecord-lite build: apt-get install gcc failed; the wheel will be pure Python"; } \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# LDFLAGS=-s: the compiled modules without their symbol tables (the image's layer stays small);
# the wheel's name says which it is: platform-tagged with the C core, py3-none-any without
RUN LDFLAGS=-s pip wheel --no-cache-dir --no-deps --wheel-dir /dist . && ls /dist
# The wheel and its dependencies installed here, under /install (a root the runtime copies as
# /), not compiled yet; with gcc's binutils present, every shared object left with its symbol table
# (PyYAML's, Pillow's, protobuf's: about 6 MB of the 30 MB budget) is stripped of it.
RUN pip install --no-cache-dir --no-compile --only-binary=:all: --root=/install /dist/*.whl \
    && if command -v strip >/dev/null; then \
        find /install -name '*.so*' -type f -exec strip --strip-unneeded {} +; fi

# ---- stage 2: the runtime: the installed wheel (with its compiled C core) and its dependencies
# on a slim Python, no compiler
FROM python:3.11-slim
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TFRECORD_LITE_IMAGES=/data_in \
    TFRECORD_LITE_OUTPUT=/data_out
COPY --from=build /install/ /
# compiled here, where the files are, so the .pyc files name their real paths
RUN python -c 'import compileall, sys, sysconfig; \
sys.exit(not compileall.compile_dir(sysconfig.get_paths()["purelib"], quiet=1))' \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && mkdir -p /data_in /data_out \
    && chown 10001:10001 /data_out
USER 10001:10001
WORKDIR /data_in
ENTRYPOINT ["tfrecord-lite", "convert"]
CMD ["--help"]
