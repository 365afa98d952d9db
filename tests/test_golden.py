"""Check our writer and reader against files TensorFlow wrote, with no TensorFlow installed.

The files in tests/golden/ come from `tf.io.TFRecordWriter` (tests/golden/make_golden.py); these
tests pin byte-for-byte compatibility in the normal suite, where TensorFlow is too big to install.
"""

from __future__ import annotations

import base64
import io
import json
import math
import zlib
from pathlib import Path
from typing import Any

import pytest

from tfrecord_lite import (
    BytesList,
    DataCRCError,
    FloatList,
    Int64List,
    LengthCRCError,
    RecordError,
    TFRecordWriter,
    TruncatedRecordError,
    decode_example,
    encode_example,
    tf_record_iterator,
)
from tfrecord_lite.format.crc import crc32c, masked_crc

GOLDEN = Path(__file__).resolve().parent / "golden"
INFO: dict[str, Any] = json.loads((GOLDEN / "golden.json").read_text())
FILES: dict[str, dict[str, Any]] = INFO["files"]


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def write_bytes(records: list[bytes], options: str | None = None) -> bytes:
    buf = io.BytesIO()
    writer = TFRecordWriter(buf, options)
    for record in records:
        writer.write(record)
    writer.close()
    return buf.getvalue()


def read(name: str, options: str | None = None) -> list[bytes]:
    return list(tf_record_iterator(str(GOLDEN / name), options))


def matches(record: bytes, digest: dict[str, Any]) -> bool:
    """A record equals what golden.json says TensorFlow wrote (small ones in full, big by CRC)."""
    if len(record) != digest["len"]:
        return False
    if "b64" in digest:
        return record == base64.b64decode(digest["b64"])
    return zlib.crc32(record) == digest["crc32_zlib"]


# -- known answers (from the CRC-32C and TFRecord specifications, no TensorFlow needed) --


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283


def test_masked_crc_of_foo() -> None:
    assert masked_crc(b"foo") == 0xFEBE8A61


def test_single_foo_record_file() -> None:
    expected = base64.b64decode("AwAAAAAAAACwmUkOZm9vYYq+/g==")
    assert write_bytes([b"foo"]) == expected
    assert golden("foo.tfrecord") == expected


# -- uncompressed: byte for byte --


@pytest.mark.parametrize("name", [n for n, f in FILES.items() if f["options"] is None])
def test_reader_gives_the_records_tf_wrote(name: str) -> None:
    records = read(name)
    if "records" in FILES[name]:
        digests = FILES[name]["records"]
        assert len(records) == len(digests)
        for i, (record, digest) in enumerate(zip(records, digests)):
            assert matches(record, digest), f"{name} record {i}"


@pytest.mark.parametrize("name", [n for n, f in FILES.items() if f["options"] is None])
def test_writer_reproduces_uncompressed_file_byte_for_byte(name: str) -> None:
    assert write_bytes(read(name)) == golden(name)


def test_write_many_reproduces_file_byte_for_byte() -> None:
    buf = io.BytesIO()
    with TFRecordWriter(buf) as writer:
        writer.write_many(read("plain.tfrecord"))
    # the context manager closes files it opened only; a BytesIO passed in stays readable
    assert buf.getvalue() == golden("plain.tfrecord")


# -- compressed --
#
# The records inside must be identical; the compressed bytes need not be in general: TensorFlow
# links its own zlib, Python the system's, and a gzip header may carry an mtime (TF writes 0).
# Any valid deflate stream of the same framed records is a correct file.  In practice we match
# byte for byte too: one deflate stream at the default level, no intermediate flushes, mtime 0,
# classic zlib (1.2.x and 1.3.x give identical output here) and memLevel 9 as TensorFlow's
# ZlibCompressionOptions sets (zlib's default 8 halves the symbol buffer and so moves the deflate
# block boundaries: words.gzip.tfrecord is large enough to show that).  zlib-ng, which some
# distributions ship in zlib's place, deflates differently, so there we check records only.


@pytest.mark.parametrize("name", [n for n, f in FILES.items() if f["options"]])
def test_reader_decompresses_tf_files(name: str) -> None:
    records = read(name, FILES[name]["options"])
    if "same_records_as" in FILES[name]:
        assert records == read(FILES[name]["same_records_as"])
    else:
        digests = FILES[name]["records"]
        assert len(records) == len(digests)
        assert all(matches(r, d) for r, d in zip(records, digests))


@pytest.mark.parametrize("name", [n for n, f in FILES.items() if f["options"]])
def test_compressed_bytes_match_tf(name: str) -> None:
    options = FILES[name]["options"]
    records = read(name, options)
    ours = write_bytes(records, options)
    assert list(tf_record_iterator(io.BytesIO(ours), options)) == records
    theirs = golden(name)
    if options == "GZIP":
        # magic, deflate, no flags, mtime 0: a reproducible header like TensorFlow's
        assert ours[:8] == theirs[:8] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00"
    else:
        assert ours[:2] == theirs[:2]  # zlib CMF/FLG: 32K window, default level
    # the uncompressed payload is the same byte stream TensorFlow compressed
    wbits = 31 if options == "GZIP" else 15
    assert zlib.decompress(ours, wbits) == zlib.decompress(theirs, wbits)
    if "ng" not in zlib.ZLIB_RUNTIME_VERSION:
        assert ours == theirs, f"classic zlib {zlib.ZLIB_RUNTIME_VERSION} should match TF exactly"


# -- corruption: every single-byte change of a small file is caught --


def test_every_single_byte_flip_is_detected() -> None:
    data = golden("small.tfrecord")
    assert list(tf_record_iterator(io.BytesIO(data))) == read("small.tfrecord")
    for pos in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[pos] ^= flip
            with pytest.raises(RecordError) as info:
                list(tf_record_iterator(io.BytesIO(bytes(bad))))
            err = info.value
            assert isinstance(err, (TruncatedRecordError, LengthCRCError, DataCRCError))
            assert "offset" in str(err), str(err)
            assert str(err.offset) in str(err)
            assert 0 <= err.offset <= pos, f"flip at {pos} blamed on record at {err.offset}"


def test_every_truncation_is_detected() -> None:
    data = golden("small.tfrecord")
    record_starts = {0}
    offset = 0
    for record in read("small.tfrecord"):
        offset += len(record) + 16
        record_starts.add(offset)
    for cut in range(len(data)):
        if cut in record_starts:
            continue  # a file cut between records is a valid shorter file
        with pytest.raises(TruncatedRecordError):
            list(tf_record_iterator(io.BytesIO(data[:cut])))


def test_error_names_the_file(tmp_path: Path) -> None:
    bad = bytearray(golden("small.tfrecord"))
    bad[-1] ^= 0xFF
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(bytes(bad))
    with pytest.raises(DataCRCError, match="bad.tfrecord"):
        list(tf_record_iterator(str(path)))


# -- Examples --


def expected_values(spec: dict[str, Any]) -> list[Any]:
    kind, values = spec["kind"], spec["values"]
    if kind == "bytes":
        return [base64.b64decode(v) for v in values]
    if kind == "float":
        return [float(v) for v in values]
    return list(values)


def same(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, float) or isinstance(y, float):
            if not (math.isnan(x) and math.isnan(y)) and not (
                x == y and math.copysign(1, x) == math.copysign(1, y)
            ):
                return False
        elif x != y:
            return False
    return True


def test_decode_golden_examples() -> None:
    described = FILES["examples.tfrecord"]["examples"]
    records = read("examples.tfrecord")
    assert len(records) == len(described)
    for i, (record, spec) in enumerate(zip(records, described)):
        decoded = decode_example(record)
        assert sorted(decoded) == sorted(spec), f"example {i}"
        for key, feature in spec.items():
            assert same(list(decoded[key]), expected_values(feature)), f"example {i} {key}"


def test_encode_reproduces_golden_examples() -> None:
    """encode_example's key order is protobuf's deterministic one, so bytes match TF's.

    protobuf's default (upb) runtime orders map keys by UTF-8 bytes but puts a key after the
    longer keys it is a prefix of ("image_name" before "image"); example 0 has such a pair.
    """
    described = FILES["examples.tfrecord"]["examples"]
    records = read("examples.tfrecord")
    typed_empty = {"bytes": BytesList, "int64": Int64List, "float": FloatList}
    assert len(records) == len(described)
    for i, (record, spec) in enumerate(zip(records, described)):
        # an empty Python list has no type; TF's typed empty list is spelled BytesList() etc.
        mapping = {
            key: expected_values(feature) or typed_empty[feature["kind"]]()
            for key, feature in spec.items()
        }
        assert encode_example(mapping) == record, f"example {i}"
