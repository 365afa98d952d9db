"""Framing: known bytes, round trips in every compression mode, and typed errors with offsets."""

from __future__ import annotations

import base64
import io
import struct

import pytest

from tfrecord_lite import (
    DataCRCError,
    LengthCRCError,
    RecordError,
    TFRecordOptions,
    TFRecordWriter,
    TruncatedRecordError,
    tf_record_iterator,
)
from tfrecord_lite.crc import masked_crc

FOO_FILE = base64.b64decode("AwAAAAAAAACwmUkOZm9vYYq+/g==")
RECORDS = [b"", b"foo", b"\x00" * 1000, bytes(range(256)) * 50]


def write_records(records, options=None, many=False) -> bytes:
    buf = io.BytesIO()
    with TFRecordWriter(buf, options) as w:
        if many:
            w.write_many(records)
        else:
            for r in records:
                w.write(r)
    return buf.getvalue()


def test_single_record_known_bytes() -> None:
    assert write_records([b"foo"]) == FOO_FILE
    assert write_records([b"foo"], many=True) == FOO_FILE


def test_write_path_and_read_path(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    with TFRecordWriter(str(path)) as w:
        w.write_many(iter(RECORDS))
    assert list(tf_record_iterator(path)) == RECORDS
    assert path.stat().st_size == sum(len(r) + 16 for r in RECORDS)


@pytest.mark.parametrize("options", [None, "", "GZIP", "ZLIB", TFRecordOptions("gzip", 9)])
@pytest.mark.parametrize("many", [False, True])
def test_round_trip_every_mode(options, many) -> None:
    data = write_records(RECORDS, options, many)
    assert list(tf_record_iterator(io.BytesIO(data), options)) == RECORDS
    if TFRecordOptions.coerce(options).compression_type:
        assert data[:2] in (b"\x1f\x8b", b"\x78\x9c", b"\x78\xda")


def test_gzip_header_is_deterministic() -> None:
    # zlib's own gzip wrapper: mtime 0, so the same records give the same bytes every time
    assert write_records(RECORDS, "GZIP") == write_records(RECORDS, "GZIP")
    assert write_records(RECORDS, "GZIP")[4:8] == b"\x00\x00\x00\x00"


def test_bad_compression_name() -> None:
    with pytest.raises(ValueError, match="GZIP"):
        TFRecordOptions("lz4")


def test_empty_stream_is_clean_eof() -> None:
    assert list(tf_record_iterator(io.BytesIO(b""))) == []


def test_truncated_tail_names_offset() -> None:
    data = write_records([b"abc", b"defgh"])
    for cut in range(len(data) - 1, 19, -1):
        with pytest.raises(TruncatedRecordError) as err:
            list(tf_record_iterator(io.BytesIO(data[:cut])))
        assert err.value.offset == 19 and "byte offset 19" in str(err.value)


def test_length_crc_checked_before_allocation() -> None:
    header = struct.pack("<Q", 1 << 40)  # claims a terabyte
    bad = header + struct.pack("<I", 12345) + b"tiny"
    with pytest.raises(LengthCRCError, match="byte offset 0: length CRC mismatch"):
        list(tf_record_iterator(io.BytesIO(bad)))


def test_forged_huge_length_with_valid_crc_does_not_allocate() -> None:
    header = struct.pack("<Q", 1 << 40)
    forged = header + struct.pack("<I", masked_crc(header)) + b"tiny"
    with pytest.raises(TruncatedRecordError, match="needs"):
        list(tf_record_iterator(io.BytesIO(forged)))


def test_data_crc_mismatch_and_opt_out() -> None:
    data = bytearray(write_records([b"hello", b"world"]))
    data[21 + 12] ^= 0x01  # a byte inside the second record's payload
    with pytest.raises(DataCRCError, match="byte offset 21: data CRC mismatch"):
        list(tf_record_iterator(io.BytesIO(bytes(data))))
    assert list(tf_record_iterator(io.BytesIO(bytes(data)), verify=False))[0] == b"hello"


def test_every_single_byte_flip_is_detected() -> None:
    data = write_records([b"ab", b"", b"xyz" * 5])
    for i in range(len(data)):
        for bit in (0x01, 0x80):
            bad = bytearray(data)
            bad[i] ^= bit
            with pytest.raises(RecordError) as err:
                list(tf_record_iterator(io.BytesIO(bytes(bad))))
            assert "byte offset" in str(err.value)


@pytest.mark.parametrize("options", ["GZIP", "ZLIB"])
def test_corrupt_compressed_stream_is_typed(options) -> None:
    data = bytearray(write_records(RECORDS, options))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(RecordError):
        list(tf_record_iterator(io.BytesIO(bytes(data)), options))


def test_error_names_file(tmp_path) -> None:
    path = tmp_path / "x.tfrecord"
    path.write_bytes(FOO_FILE[:-1])
    with pytest.raises(TruncatedRecordError, match=str(path)):
        list(tf_record_iterator(path))
