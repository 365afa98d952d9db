"""``s3://`` inputs and outputs against a real S3 API on loopback (moto's standalone server,
started here), through the CLI: the same bytes as a local conversion, and the failures."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from gt_helpers import FIXTURES, det_line, images_for_manifest, make_image, write_manifest
from PIL import Image
from source_helpers import dataset, write_coco, write_voc, write_yolo

from tfrecord_lite.pipeline import s3store
from tfrecord_lite.tools.cli import main

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample"
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent",
          "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    """moto's S3 server on 127.0.0.1, for this module; stopped at its end."""
    saved = {k: os.environ.get(k) for k in (*S3_ENV, "AWS_ENDPOINT_URL", "AWS_PROFILE")}
    os.environ.update(S3_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        s3store._CLIENTS.clear()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3(endpoint):
    return s3store.client(s3store.Settings(None, endpoint, s3store.CONCURRENCY))


@pytest.fixture
def bucket(s3) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def upload_tree(s3, folder: Path, bucket: str, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, prefix + path.relative_to(folder).as_posix())


def keys(s3, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"][len(prefix):] for p in pages for o in p.get("Contents", ()))


def download(s3, bucket: str, prefix: str, dest: Path) -> Path:
    for rel in keys(s3, bucket, prefix):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, prefix + rel, str(dest / rel))
    return dest


def convert(endpoint: str, *args: str) -> int:
    return main(["convert", "--endpoint-url", endpoint, "-q", *args])


def assert_same_dataset(a: Path, b: Path) -> None:
    """Byte-identical files; dataset_info.yaml equal once its paths are set aside."""
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel != "dataset_info.yaml":
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    docs = [yaml.safe_load((d / "dataset_info.yaml").read_text("utf-8")) for d in (a, b)]
    for doc in docs:
        for split in ("train", "validation"):
            for key in ("path", "annotations", "images"):
                doc[split].pop(key, None)
        doc["tfrecord_lite"].pop("source")
    assert docs[0] == docs[1]


@pytest.fixture(scope="module")
def cards(endpoint):
    """examples/sample in S3 as Ground Truth left it (the bucket its source-refs name): the
    manifest beside images/; read-only for the tests, which write into their own buckets."""
    s3 = s3store.client(s3store.Settings(None, endpoint, s3store.CONCURRENCY))
    s3.create_bucket(Bucket="tfrecord-lite-sample")
    upload_tree(s3, SAMPLE / "images", "tfrecord-lite-sample", "cards-job/images/")
    s3.upload_file(str(SAMPLE / "output.manifest"), "tfrecord-lite-sample",
                   "cards-job/output.manifest")
    return "s3://tfrecord-lite-sample/cards-job"


def local_cards(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "local"
    assert main(["convert", "-q", "-a", str(SAMPLE / "output.manifest"), "-i",
                 str(SAMPLE / "images"), "-o", str(out), *args]) == 0
    return out


@pytest.mark.parametrize("fmt", ["tfrecord", "json"])
def test_from_s3_and_to_s3_give_the_bytes_of_a_local_conversion(
        endpoint, s3, bucket, cards, tmp_path, fmt) -> None:
    opts = ["-s", "0.25", "-p", "0.1", "-f", fmt]
    local = local_cards(tmp_path, *opts)
    manifest = f"{cards}/output.manifest"
    assert convert(endpoint, "-a", manifest, "-i", f"{cards}/images/", "-o",
                   str(tmp_path / "in"), *opts) == 0
    assert_same_dataset(local, tmp_path / "in")
    assert convert(endpoint, "-a", manifest, "-o", str(tmp_path / "pointing"), *opts) == 0
    assert_same_dataset(local, tmp_path / "pointing")  # each source-ref fetched where it points
    out = f"s3://{bucket}/datasets/cards/"
    assert convert(endpoint, "-a", manifest, "-i", f"{cards}/images", "-o", out, *opts) == 0
    uploaded = download(s3, bucket, "datasets/cards/", tmp_path / "up")
    assert_same_dataset(local, uploaded)
    info = yaml.safe_load((uploaded / "dataset_info.yaml").read_text("utf-8"))
    assert info["train"]["images"].startswith(f"s3://{bucket}/datasets/cards/")
    assert info["tfrecord_lite"]["source"] == manifest
    inventory = json.loads((uploaded / ".tfrecord-lite-files").read_text("utf-8"))["files"]
    assert {f for f in inventory if not f.endswith("/")} | {".tfrecord-lite-files"} == \
        set(keys(s3, bucket, "datasets/cards/"))
    assert not any(p.name.startswith("tfrecord-lite-s3-") for p in Path("/tmp").iterdir()
                   if str(os.getpid()) in p.name)  # the cache is gone


def test_segmentation_masks_and_video_frames_are_fetched_too(endpoint, s3, bucket,
                                                             tmp_path) -> None:
    from test_groundtruth_video import video_job

    seg = tmp_path / "seg"
    seg.mkdir()
    shutil.copy(FIXTURES / "semseg-internal-color-map.manifest", seg / "m.manifest")
    images_for_manifest(seg / "m.manifest", seg / "images")
    video = video_job(tmp_path / "video", videos=3)
    for name, manifest, images, fmt in (("seg", seg / "m.manifest", seg / "images", "json"),
                                        ("video", video, tmp_path / "video" / "images",
                                         "tfrecord")):
        upload_tree(s3, images, bucket, f"{name}/images/")
        s3.upload_file(str(manifest), bucket, f"{name}/output.manifest")
        local = tmp_path / f"{name}-local"
        assert main(["convert", "-q", "-a", str(manifest), "-i", str(images), "-o", str(local),
                     "-f", fmt]) == 0
        remote = tmp_path / f"{name}-s3"
        assert convert(endpoint, "-a", f"s3://{bucket}/{name}/output.manifest", "-i",
                       f"s3://{bucket}/{name}/images/", "-o", str(remote), "-f", fmt) == 0
        assert_same_dataset(local, remote)


def test_a_missing_manifest_or_bucket_is_one_line_naming_the_key(endpoint, bucket, tmp_path,
                                                                 capsys) -> None:
    for url, said in ((f"s3://{bucket}/job/none.manifest", "does not exist"),
                      (f"s3://no-{bucket}/job/output.manifest", "NoSuchBucket")):
        assert convert(endpoint, "-a", url, "-o", str(tmp_path / "out")) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and url in err and said in err, err
        assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_images_are_reported_by_line_with_their_s3_location(endpoint, s3, bucket,
                                                                    tmp_path, capsys) -> None:
    job = tmp_path / "job"
    lines = []
    for name in ("a", "b", "c", "d"):
        make_image(job / "images" / f"{name}.jpg", 64, 48)
        lines.append(det_line(f"s3://{bucket}/images/{name}.jpg", [(0, 1, 1, 10, 10)],
                              {0: "cat"}, (64, 48)))
    write_manifest(job / "output.manifest", lines)
    upload_tree(s3, job / "images", bucket, "images/")
    s3.delete_object(Bucket=bucket, Key="images/c.jpg")
    s3.upload_file(str(job / "output.manifest"), bucket, "job/output.manifest")
    manifest = f"s3://{bucket}/job/output.manifest"
    assert convert(endpoint, "-a", manifest, "-o", str(tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{manifest}:3:" in err and "images/c.jpg" in err, err
    assert "tfrecord-lite-s3-" not in err  # no local cache path
    assert convert(endpoint, "-a", manifest, "-o", str(tmp_path / "out"), "--skip-invalid") == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "images/c.jpg" in err and "tfrecord-lite-s3-" not in err
    info = yaml.safe_load((tmp_path / "out" / "dataset_info.yaml").read_text("utf-8"))
    assert info["train"]["samples"] + info["validation"]["samples"] == 3


@contextlib.contextmanager
def hooked(s3, event: str, handler):
    s3.meta.events.register(event, handler)
    try:
        yield
    finally:
        s3.meta.events.unregister(event, handler)


def _client_error(code: str, operation: str):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


def test_access_denied_stops_with_one_line_naming_the_key(endpoint, s3, bucket, cards, tmp_path,
                                                          capsys) -> None:
    def deny(params, **kwargs):
        if params.get("Key", "").endswith("table-03.jpg"):
            raise _client_error("AccessDenied", "GetObject")

    with hooked(s3, "before-parameter-build.s3.GetObject", deny):
        assert convert(endpoint, "-a", f"{cards}/output.manifest", "-o",
                       str(tmp_path / "out")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "access denied" in err, err
    assert f"{cards}/images/table-03.jpg" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_throttled_requests_are_retried_with_backoff(endpoint, s3, bucket, cards,
                                                     tmp_path) -> None:
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self):
            yield (b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message>"
                   b"</Error>")

    tries = []

    def throttle(request, **kwargs):
        if request.url.endswith("table-05.jpg"):
            tries.append(time.monotonic())
            if len(tries) <= 2:
                return AWSResponse(request.url, 503, {}, Raw())
        return None

    with hooked(s3, "before-send.s3.GetObject", throttle):
        assert convert(endpoint, "-a", f"{cards}/output.manifest", "-o",
                       str(tmp_path / "out"), "-s", "0.25", "-p", "0.1") == 0
    assert len(tries) == 3
    assert_same_dataset(local_cards(tmp_path, "-s", "0.25", "-p", "0.1"), tmp_path / "out")


def test_a_dry_run_reads_only_headers_and_tails(endpoint, s3, bucket, cards, tmp_path,
                                                capsys) -> None:
    assert main(["convert", "--json", "--dry-run", "-a", str(SAMPLE / "output.manifest"), "-i",
                 str(SAMPLE / "images"), "-o", str(tmp_path / "x")]) == 0
    local = json.loads(capsys.readouterr().out)
    big = tmp_path / "big.png"  # larger than the head: only its start and end are read
    Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3)).save(big)
    assert big.stat().st_size > s3store.HEAD_BYTES
    s3.upload_file(str(big), bucket, "images/big.png")
    line = det_line(f"s3://{bucket}/images/big.png", [(0, 1, 1, 10, 10)], {0: "hearts"}, (400, 400),
                    attr="cards")
    text = (SAMPLE / "output.manifest").read_text("utf-8") + json.dumps(line) + "\n"
    s3.put_object(Bucket=bucket, Key="job/more.manifest", Body=text.encode())
    ranges: dict[str, list] = {}

    def record(params, **kwargs):
        ranges.setdefault(params["Key"], []).append(params.get("Range"))

    with hooked(s3, "before-parameter-build.s3.GetObject", record):
        assert convert(endpoint, "--json", "--dry-run", "-a", f"s3://{bucket}/job/more.manifest",
                       "-o", str(tmp_path / "x")) == 0
    remote = json.loads(capsys.readouterr().out)
    assert remote["samples"] == local["samples"] + 1
    assert {k: remote[k] for k in ("classes", "skipped", "would_fail")} == \
        {k: local[k] for k in ("classes", "skipped", "would_fail")}
    images = {k: v for k, v in ranges.items() if k.endswith((".jpg", ".png"))}
    assert images and all(r is not None for v in images.values() for r in v)
    assert len(images["images/big.png"]) == 2  # head, then tail
    assert not (tmp_path / "x").exists()


def test_a_non_empty_prefix_is_refused_and_overwrite_removes_only_our_files(
        endpoint, s3, bucket, cards, tmp_path, capsys) -> None:
    manifest = f"{cards}/output.manifest"
    out = f"s3://{bucket}/ds/"
    s3.put_object(Bucket=bucket, Key="ds/notes.txt", Body=b"mine")
    assert convert(endpoint, "-a", manifest, "-o", out) == 1
    err = capsys.readouterr().err
    assert "not empty" in err and "notes.txt" in err and err.count("\n") == 1
    assert convert(endpoint, "-a", manifest, "-o", out, "--overwrite") == 1
    assert keys(s3, bucket, "ds/") == ["notes.txt"]
    s3.delete_object(Bucket=bucket, Key="ds/notes.txt")
    assert convert(endpoint, "-a", manifest, "-o", out, "-p", "0.05") == 0  # several shards
    first = keys(s3, bucket, "ds/")
    assert convert(endpoint, "-a", manifest, "-o", out) == 1
    assert "pass --overwrite" in capsys.readouterr().err
    s3.put_object(Bucket=bucket, Key="ds/tfrecord_train/extra.txt", Body=b"mine")
    assert convert(endpoint, "-a", manifest, "-o", out, "--overwrite") == 1
    assert "not part of it" in capsys.readouterr().err
    assert keys(s3, bucket, "ds/") == sorted([*first, "tfrecord_train/extra.txt"])
    s3.delete_object(Bucket=bucket, Key="ds/tfrecord_train/extra.txt")
    assert convert(endpoint, "-a", manifest, "-o", out, "--overwrite", "-p", "100") == 0
    now = keys(s3, bucket, "ds/")
    assert len([k for k in now if k.endswith(".tfrecord")]) == 2 < \
        len([k for k in first if k.endswith(".tfrecord")])
    assert_same_dataset(local_cards(tmp_path, "-p", "100"), download(s3, bucket, "ds/",
                                                                     tmp_path / "got"))


def test_output_that_is_or_holds_an_input_prefix_is_refused(endpoint, bucket, cards,
                                                            capsys) -> None:
    for out, said in ((f"{cards}/images", "is the images prefix"),
                      (f"{cards}", "is the manifest's folder"),
                      ("s3://tfrecord-lite-sample/", "holds the manifest's folder")):
        assert convert(endpoint, "-a", f"{cards}/output.manifest", "-i", f"{cards}/images/",
                       "-o", out, "--overwrite") == 1
        assert said in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["json", "tfrecord"])
def test_a_dataset_under_the_images_prefix_is_never_fetched_back(
        endpoint, s3, bucket, tmp_path, fmt) -> None:
    """Written inside the images prefix and converted again with --overwrite: the same objects,
    the same bytes as a local conversion (its images were not listed as inputs)."""
    local = tmp_path / "job"
    shutil.copytree(SAMPLE, local)
    (local / "images" / "sub").mkdir()  # found by its unique name, which the dataset shares
    (local / "images" / "table-05.jpg").rename(local / "images" / "sub" / "table-05.jpg")
    upload_tree(s3, local / "images", bucket, "job/images/")
    s3.upload_file(str(SAMPLE / "output.manifest"), bucket, "job/output.manifest")
    args = ("-a", f"s3://{bucket}/job/output.manifest", "-i", f"s3://{bucket}/job/images/",
            "-o", f"s3://{bucket}/job/images/ds", "-f", fmt)
    assert convert(endpoint, *args) == 0
    first = download(s3, bucket, "job/images/ds/", tmp_path / "first")
    assert convert(endpoint, *args, "--overwrite") == 0
    again = download(s3, bucket, "job/images/ds/", tmp_path / "again")
    assert_same_dataset(first, again)
    assert main(["convert", "-q", "-a", str(local / "output.manifest"), "-i",
                 str(local / "images"), "-o", str(tmp_path / "local"), "-f", fmt]) == 0
    assert_same_dataset(tmp_path / "local", again)


def test_a_failed_upload_leaves_no_dataset_info_and_the_next_run_cleans_up(
        endpoint, s3, bucket, cards, tmp_path, capsys) -> None:
    from botocore.exceptions import EndpointConnectionError

    manifest = f"{cards}/output.manifest"
    out = f"s3://{bucket}/ds/"

    def fail_val(params, **kwargs):
        if "tfrecord_val/" in params.get("Key", ""):
            raise _client_error("InternalError", "PutObject")

    with hooked(s3, "before-parameter-build.s3.PutObject", fail_val):
        assert convert(endpoint, "-a", manifest, "-o", out) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tfrecord_val/" in err and "Traceback" not in err, err
    assert keys(s3, bucket, "ds/") == []  # the failed run removed what it wrote

    def unreachable(**kwargs):
        raise EndpointConnectionError(endpoint_url=endpoint)

    # a run that cannot clean up after itself (killed, or S3 gone) leaves its journal
    with hooked(s3, "before-parameter-build.s3.PutObject", fail_val), \
            hooked(s3, "before-parameter-build.s3.DeleteObjects", unreachable):
        assert convert(endpoint, "-a", manifest, "-o", out) == 1
    capsys.readouterr()
    left = keys(s3, bucket, "ds/")
    assert s3store.JOURNAL in left and "dataset_info.yaml" not in left
    assert any(k.startswith("tfrecord_train/") for k in left)
    assert convert(endpoint, "-a", manifest, "-o", out) == 0  # no --overwrite needed
    got = download(s3, bucket, "ds/", tmp_path / "got")
    assert s3store.JOURNAL not in keys(s3, bucket, "ds/")
    assert_same_dataset(local_cards(tmp_path), got)


def test_a_killed_overwrite_is_cleaned_without_touching_other_objects(
        endpoint, s3, bucket, cards, tmp_path, capsys) -> None:
    """The journal of a run killed between its first and last upload lists every key it may
    have written or removed; the next run removes those (and the run's unfinished multipart
    uploads), nothing else."""
    out = f"s3://{bucket}/ds/"
    assert convert(endpoint, "-a", f"{cards}/output.manifest", "-o", out) == 0
    files = keys(s3, bucket, "ds/")
    s3.put_object(Bucket=bucket, Key="ds-other/keep.txt", Body=b"mine")
    s3.delete_object(Bucket=bucket, Key="ds/dataset_info.yaml")
    journal = {"run": "x", "host": "elsewhere", "pid": 1, "files": list(files)}
    s3.put_object(Bucket=bucket, Key=f"ds/{s3store.JOURNAL}", Body=json.dumps(journal).encode())
    upload = s3.create_multipart_upload(Bucket=bucket, Key="ds/tfrecord_train/big.tfrecord")
    journal["files"].append("tfrecord_train/big.tfrecord")
    s3.put_object(Bucket=bucket, Key=f"ds/{s3store.JOURNAL}", Body=json.dumps(journal).encode())
    before = keys(s3, bucket, "ds/")
    assert convert(endpoint, "-a", f"{cards}/output.manifest", "-o", out, "--dry-run") == 0
    assert keys(s3, bucket, "ds/") == before  # a dry run removes nothing
    assert convert(endpoint, "-a", f"{cards}/output.manifest", "-o", out) == 0
    assert keys(s3, bucket, "ds/") == files and keys(s3, bucket, "ds-other/") == ["keep.txt"]
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert upload["UploadId"] not in {u["UploadId"] for u in uploads}


def test_large_shards_are_uploaded_in_parts(endpoint, s3, bucket, tmp_path,
                                            monkeypatch) -> None:
    monkeypatch.setattr(s3store, "MULTIPART", 5 << 20)  # S3's smallest part
    job = tmp_path / "job"
    job.mkdir()
    lines = []
    for k in range(3):  # noise does not compress: about 3 MiB each, one 9 MiB train shard
        Image.frombytes("RGB", (1024, 1024), os.urandom(3 << 20)).save(job / f"{k}.png")
        lines.append(det_line(f"s3://b/{k}.png", [(0, 1, 1, 10, 10)], {0: "x"}, (1024, 1024)))
    manifest = write_manifest(job / "output.manifest", lines)
    assert main(["convert", "-q", "-a", str(manifest), "-o", str(tmp_path / "local"),
                 "-s", "0"]) == 0
    assert convert(endpoint, "-a", str(manifest), "-o", f"s3://{bucket}/ds", "-s", "0") == 0
    head = s3.head_object(Bucket=bucket, Key="ds/tfrecord_train/train-00000-of-00001.tfrecord")
    assert head["ContentLength"] > 5 << 20 and head["ETag"].strip('"').endswith("-2")
    assert_same_dataset(tmp_path / "local", download(s3, bucket, "ds/", tmp_path / "got"))


def test_without_boto3_an_s3_path_says_what_to_install(endpoint, tmp_path, capsys,
                                                       monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    monkeypatch.setattr(s3store, "_CLIENTS", {})
    assert main(["convert", "-a", "s3://b/job/output.manifest", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and s3store.INSTALL in err
    assert "boto3" not in sys.modules or sys.modules["boto3"] is None


def test_local_paths_never_import_boto3(tmp_path) -> None:
    code = ("import sys; from tfrecord_lite.tools.cli import main; "
            f"rc = main(['convert', '-q', '-a', {str(SAMPLE / 'output.manifest')!r}, '-o', "
            f"{str(tmp_path / 'o')!r}]); print(rc, 'boto3' in sys.modules, "
            "'botocore' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["0", "False", "False"]


def test_the_command_imports_s3store_only_for_s3_paths() -> None:
    from tfrecord_lite.tools import s3_cli

    assert s3_cli.CONCURRENCY == s3store.CONCURRENCY  # the --s3-concurrency default
    code = "import sys, tfrecord_lite.tools.convert_cli; print('s3store' in str(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize("source", ["coco", "yolo", "voc"])
def test_a_local_coco_yolo_or_voc_input_goes_to_an_s3_output(endpoint, s3, bucket, tmp_path,
                                                            source) -> None:
    """Built here and uploaded, as a manifest's dataset is: the bytes of a local conversion
    (each layout finds its own images when -i is not given)."""
    write = {"coco": write_coco, "yolo": write_yolo, "voc": write_voc}[source]
    target = write(tmp_path / "in", dataset(7))
    local = tmp_path / "local"
    assert main(["convert", "-q", "--from", source, "-a", str(target), "-o", str(local)]) == 0
    assert convert(endpoint, "--from", source, "-a", str(target), "-o",
                   f"s3://{bucket}/{source}/") == 0
    assert_same_dataset(local, download(s3, bucket, f"{source}/", tmp_path / "up"))
