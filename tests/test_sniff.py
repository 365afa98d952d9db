"""Files that are not TFRecord files are named for what they look like."""

from __future__ import annotations

import gzip
import io
import json

import pytest
from PIL import Image

from tfrecord_lite import LengthCRCError, RecordError, TFRecordWriter, tf_record_iterator
from tfrecord_lite.format.sniff import describe


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    return buf.getvalue()


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "JPEG")
    return buf.getvalue()


JSONL = b"".join(json.dumps({"source-ref": f"s3://b/{i}.jpg", "x": i}).encode() + b"\n"
                 for i in range(300))


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (JSONL, "JSON Lines text"),
        (JSONL[:4096], "JSON Lines text"),  # cut inside a line
        (json.dumps({"a": [1, 2]}, indent=2).encode(), "JSON text"),
        (b"[1, 2, 3]", "JSON text"),
        (b"name,width,height\na.jpg,3,4\n", "CSV text"),
        ("plain words, caf\u00e9".encode(), "text"),
        (jpeg(), "a JPEG image"),
        (png(), "a PNG image"),
        (gzip.compress(b"hello"), "a GZIP stream (read it with compression='GZIP' or 'auto')"),
        (b"PK\x03\x04rest", "a ZIP archive"),
        (b"\x93NUMPY\x01\x00", "a numpy .npy array"),
    ],
)
def test_describe(data: bytes, what: str) -> None:
    assert describe(data) == what


def test_tfrecords_and_noise_are_not_described() -> None:
    buf = io.BytesIO()
    with TFRecordWriter(buf) as w:
        w.write(b"x")
    assert describe(buf.getvalue()) is None
    assert describe(bytes(range(200, 256))) is None


def test_reading_a_json_lines_file_says_so(tmp_path) -> None:
    path = tmp_path / "output.manifest"
    path.write_bytes(JSONL)
    with pytest.raises(LengthCRCError, match="not a TFRecord file. it looks like JSON Lines") as e:
        list(tf_record_iterator(path))
    assert e.value.looks_like == "JSON Lines text"


def test_a_short_image_says_so_too(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    path.write_bytes(jpeg()[:11])
    with pytest.raises(RecordError, match="looks like a JPEG image"):
        list(tf_record_iterator(path))
