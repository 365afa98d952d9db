"""GZIP/ZLIB streams: found from their bytes, and broken streams reported as data loss with the
decompressed offset of the first unreadable record and the compressed offset of the break."""

from __future__ import annotations

import gzip
import io
import random
import zlib

import pytest

from tfrecord_lite import (
    DataCRCError,
    DataLossError,
    LengthCRCError,
    RecordError,
    TFRecordWriter,
    tf_record_iterator,
)
from tfrecord_lite.format.compression import detect_compression

RNG = random.Random(17)
RECORDS = [RNG.randbytes(RNG.randrange(0, 400)) for _ in range(200)] + [b"z" * 70_000]


def framed(records) -> bytes:
    buf = io.BytesIO()
    with TFRecordWriter(buf) as w:
        w.write_many(records)
    return buf.getvalue()


def compressed(records, kind: str) -> bytes:
    buf = io.BytesIO()
    with TFRecordWriter(buf, kind) as w:
        w.write_many(records)
    return buf.getvalue()


class OneWay(io.RawIOBase):
    """A pipe-like stream: read only, cannot seek."""

    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        chunk = self._src.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


def read_until_error(data: bytes, **kw) -> tuple[list[bytes], RecordError | None]:
    got: list[bytes] = []
    try:
        for r in tf_record_iterator(io.BytesIO(data), **kw):
            got.append(r)
    except RecordError as exc:
        return got, exc
    return got, None


@pytest.mark.parametrize("kind", ["", "GZIP", "ZLIB"])
@pytest.mark.parametrize("wrap", [io.BytesIO, OneWay])
def test_auto_finds_compression_from_bytes(tmp_path, kind, wrap) -> None:
    data = compressed(RECORDS, kind)
    assert list(tf_record_iterator(wrap(data), compression="auto")) == RECORDS
    path = tmp_path / "no-telling-name"
    path.write_bytes(data)
    assert list(tf_record_iterator(path, "auto")) == RECORDS


def test_auto_on_tiny_and_empty_streams() -> None:
    assert list(tf_record_iterator(io.BytesIO(b""), compression="auto")) == []
    assert list(tf_record_iterator(OneWay(framed([b""])), compression="auto")) == [b""]


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_plain_read_of_compressed_file_says_what_to_pass(kind) -> None:
    with pytest.raises(LengthCRCError, match=f"looks like a {kind} stream .read it with compr"):
        list(tf_record_iterator(io.BytesIO(compressed(RECORDS, kind))))


def test_plain_read_of_plain_garbage_has_no_hint() -> None:
    with pytest.raises(LengthCRCError) as err:
        list(tf_record_iterator(io.BytesIO(b"not a tfrecord file at all")))
    assert "compression" not in str(err.value)


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_every_flipped_byte_is_data_loss_or_crc_at_a_record_start(kind) -> None:
    data = compressed(RECORDS, kind)
    starts = [0]
    for r in RECORDS:
        starts.append(starts[-1] + len(r) + 16)
    rng = random.Random(kind)
    for pos in sorted(rng.sample(range(len(data)), 40)):
        bad = bytearray(data)
        bad[pos] ^= 0x55
        got, exc = read_until_error(bytes(bad), compression=kind)
        if exc is None:  # a flip in the gzip header's unused fields can go unnoticed
            assert kind == "GZIP" and pos < 10 and got == RECORDS
            continue
        assert got == RECORDS[: len(got)]
        assert exc.offset == starts[len(got)], (pos, exc)
        if isinstance(exc, DataLossError):
            assert pos <= exc.compressed_offset <= len(data), (pos, exc)
            assert f"compressed byte {exc.compressed_offset}" in str(exc)
        else:
            assert isinstance(exc, (DataCRCError, LengthCRCError)), exc


@pytest.mark.parametrize(("kind", "check"), [("GZIP", 8), ("ZLIB", 4)])
def test_bad_stream_checksum_is_data_loss_after_every_record(kind, check) -> None:
    data = bytearray(compressed(RECORDS, kind))
    data[-check] ^= 0x01  # the stream's own checksum: every record inflates, then it fails
    got, exc = read_until_error(bytes(data), compression=kind)
    assert got == RECORDS
    assert isinstance(exc, DataLossError) and "incorrect data check" in exc.detail
    assert exc.offset == len(framed(RECORDS))
    assert len(data) - check <= exc.compressed_offset < len(data)


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_stream_cut_at_a_flush_point_is_one_rule(kind) -> None:
    z = zlib.compressobj(6, zlib.DEFLATED, 31 if kind == "GZIP" else 15)
    data = z.compress(framed(RECORDS[:50])) + z.flush(zlib.Z_SYNC_FLUSH)
    got, exc = read_until_error(data, compression=kind)
    assert got == RECORDS[:50]
    assert isinstance(exc, DataLossError) and "cut short" in exc.detail
    assert exc.offset == len(framed(RECORDS[:50]))
    assert exc.compressed_offset == len(data)


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_stream_cut_inside_a_record(kind) -> None:
    data = compressed(RECORDS, kind)
    got, exc = read_until_error(data[: len(data) // 2], compression=kind)
    assert got == RECORDS[: len(got)] and len(got) < len(RECORDS)
    assert isinstance(exc, DataLossError) and exc.offset == len(framed(got))


def test_gzip_members_are_read_in_turn() -> None:
    data = gzip.compress(framed(RECORDS[:3])) + gzip.compress(framed(RECORDS[3:]))
    assert list(tf_record_iterator(io.BytesIO(data), "GZIP")) == RECORDS


def test_bytes_after_a_zlib_stream_are_data_loss() -> None:
    data = compressed(RECORDS[:3], "ZLIB")
    got, exc = read_until_error(data + b"junk", compression="ZLIB")
    assert isinstance(exc, DataLossError) and exc.compressed_offset == len(data)


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_empty_compressed_file_has_no_records(kind) -> None:
    assert list(tf_record_iterator(io.BytesIO(b""), compression=kind)) == []


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_record_inflating_past_the_output_step(kind) -> None:
    big = [bytes(9 << 20), b"after"]  # 9 MiB of zeros: more than one inflate step's output
    assert list(tf_record_iterator(io.BytesIO(compressed(big, kind)), compression=kind)) == big
    assert list(tf_record_iterator(io.BytesIO(compressed(big[:1], kind)), "auto")) == big[:1]


def test_data_loss_error_survives_pickling() -> None:
    import pickle

    exc = DataLossError("f", 10, "why", 99)
    back = pickle.loads(pickle.dumps(exc))
    assert (back.offset, back.compressed_offset, str(back)) == (10, 99, str(exc))


def test_detect_compression_prefers_a_valid_plain_header() -> None:
    assert detect_compression(compressed([b"x"], "GZIP")[:12]) == "GZIP"
    assert detect_compression(compressed([b"x"], "ZLIB")[:12]) == "ZLIB"
    assert detect_compression(framed([b"x"])[:12]) is None
