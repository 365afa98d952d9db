"""``--engine beam`` with ``s3://`` input and output (moto's S3 server on loopback, the unit
suite's fixture): the objects uploaded are byte for byte those of the plain converter."""

from __future__ import annotations

from test_s3store import convert, download


def test_s3_in_and_out_same_objects_as_plain_converter(endpoint, s3, bucket, cards,
                                                       tmp_path) -> None:
    out = f"s3://{bucket}/datasets/cards/"
    args = ["-a", f"{cards}/output.manifest", "-i", f"{cards}/images", "-o", out, "-s", "0.25",
            "-p", "0.05"]
    got = {}
    for engine in ("local", "beam"):
        extra = ["--overwrite"] if engine == "beam" else []  # replaces only our own objects
        assert convert(endpoint, *args, "--engine", engine, *extra) == 0
        folder = download(s3, bucket, "datasets/cards/", tmp_path / engine)
        got[engine] = {p.relative_to(folder).as_posix(): p.read_bytes()
                       for p in sorted(folder.rglob("*")) if p.is_file()}
    assert got["beam"] == got["local"]
    assert sum(name.endswith(".tfrecord") for name in got["beam"]) >= 3
