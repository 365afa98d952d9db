"""The batch reader (``records._frame_batches``: CRCs checked a batch at a time, after the walk)
against a record-by-record reader written from the format's definition: the same records, then
the same error (type, offset, message), on random and corrupted streams, for any read size."""

from __future__ import annotations

import io
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_records import write_records

from tfrecord_lite.format.crc import masked_crc
from tfrecord_lite.format.errors import (
    DataCRCError,
    LengthCRCError,
    RecordError,
    TruncatedRecordError,
)
from tfrecord_lite.format.records import _iter_frames


def reference(data: bytes, verify: bool) -> tuple[list[bytes], RecordError | None]:
    """Record by record, in the order the format's checks come: header, length CRC, whole
    record, data CRC."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        rest = len(data) - pos
        if rest < 12:
            return out, TruncatedRecordError(
                "x", pos, f"record header needs 12 bytes, the stream ends after {rest}"
            )
        length, stored = struct.unpack_from("<QI", data, pos)
        computed = masked_crc(data[pos : pos + 8])
        if verify and computed != stored:
            return out, LengthCRCError(
                "x",
                pos,
                f"stored {stored:#010x}, computed {computed:#010x} "
                f"(the length field reads {length})",
            )
        if rest < length + 16:
            return out, TruncatedRecordError(
                "x",
                pos,
                f"record of {length} bytes needs {length + 16} bytes, "
                f"the stream ends after {rest}",
            )
        record = data[pos + 12 : pos + 12 + length]
        (stored,) = struct.unpack_from("<I", data, pos + 12 + length)
        computed = masked_crc(record)
        if verify and computed != stored:
            return out, DataCRCError(
                "x",
                pos,
                f"stored {stored:#010x}, computed {computed:#010x} over {length} bytes",
            )
        out.append(record)
        pos += length + 16
    return out, None


def walk(data: bytes, verify: bool, chunk: int) -> tuple[list[bytes], RecordError | None]:
    out: list[bytes] = []
    try:
        for record in _iter_frames(io.BytesIO(data).read, "x", verify, 0, chunk):
            out.append(record)
    except RecordError as exc:
        return out, exc
    return out, None


def same(data: bytes, verify: bool, chunk: int) -> None:
    got, error = walk(data, verify, chunk)
    want, expected = reference(data, verify)
    assert got == want
    if expected is None:
        assert error is None
    else:
        assert type(error) is type(expected) and str(error) == str(expected)
        assert error.offset == expected.offset


def _corrupt(data: bytes, rng: random.Random, how: str) -> bytes:
    bad = bytearray(data)
    if how == "flip" and bad:
        for _ in range(rng.randrange(1, 4)):
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
    elif how == "cut":
        del bad[rng.randrange(len(bad) + 1) :]
    elif how == "forge" and bad:  # a length with a good CRC that does not fit the data
        at = rng.randrange(len(bad))
        header = struct.pack("<Q", rng.choice([0, 5, 1023, 1024, 70_000, 1 << 40]))
        bad[at : at + 12] = header + struct.pack("<I", masked_crc(header))
    return bytes(bad)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 2500), max_size=150),
    st.sampled_from(["none", "flip", "cut", "forge"]),
    st.sampled_from([1, 7, 12, 100, 4096, 1 << 20]),
    st.booleans(),
    st.integers(0, 1 << 30),
)
def test_batches_read_as_the_format_says(sizes, how, chunk, verify, seed) -> None:
    rng = random.Random(seed)
    records = [rng.randbytes(n) if rng.random() < 0.5 else bytes(n % 7) * n for n in sizes]
    same(_corrupt(write_records(records), rng, how), verify, chunk)


@pytest.mark.parametrize("chunk", [13, 1000, 1 << 20])
def test_every_bit_of_a_batch_of_small_records(chunk) -> None:
    """A bad header or CRC anywhere in a 64-record group is found, with the good ones first."""
    rng = random.Random(chunk)
    data = write_records([rng.randbytes(rng.randrange(0, 40)) for _ in range(70)])
    for i in range(0, len(data), 3):
        bad = bytearray(data)
        bad[i] ^= 1 << (i % 8)
        same(bytes(bad), True, chunk)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1024, 4000), max_size=60),
    st.sampled_from(["none", "flip", "cut", "forge"]),
    st.sampled_from([5000, 30_000, 1 << 20]),
    st.integers(0, 1 << 30),
)
def test_runs_of_large_records_read_as_the_format_says(sizes, how, chunk, seed) -> None:
    """Chunks that start with a run of large records (cut out by one unpack,
    ``records._cut_checked``), damaged, cut or forged anywhere, as record by record."""
    rng = random.Random(seed)
    records = [rng.randbytes(n) for n in sizes]
    same(_corrupt(write_records(records), rng, how), True, chunk)


@pytest.mark.parametrize("chunk", [5000, 20_000, 1 << 20])
def test_every_field_of_a_batch_of_records_of_mixed_large_lengths(chunk) -> None:
    """Large records of different lengths are cut out and have their CRCs checked as columns
    (``records._cut_checked``): a bad length, length CRC, data byte or data CRC of any of them
    is found, with the good ones first."""
    rng = random.Random(chunk)
    records = [rng.randbytes(rng.randrange(1024, 1500)) for _ in range(70)]
    data = write_records(records)
    at = 0
    for record in records:
        for i in (at + 2, at + 9, at + 12 + len(record) // 2, at + 12 + len(record) + 1):
            bad = bytearray(data)
            bad[i] ^= 0x10
            same(bytes(bad), True, chunk)
        at += len(record) + 16


def test_a_big_record_after_small_ones_and_a_bad_length_on_the_cut() -> None:
    small = [b"s" * 10] * 100
    data = write_records([*small, b"b" * 5000])
    cut = len(data) - 5016  # the big record's header, cut by a 2000-byte chunk
    bad = bytearray(data)
    bad[cut + 3] ^= 0x40  # its length: now far larger than a chunk, and the CRC does not hold
    same(bytes(bad), True, 2000)
    same(bytes(bad), False, 2000)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 1100),
    st.integers(2, 120),
    st.sampled_from(["none", "flip", "cut", "forge", "odd"]),
    st.sampled_from([12, 1000, 4096, 1 << 20]),
    st.booleans(),
    st.integers(0, 1 << 30),
)
def test_records_of_one_length(size, count, how, chunk, verify, seed) -> None:
    """Fixed-size records (sliced out at their stride, ``_same_length_run``): the same records
    and errors as record by record, with any one damaged, cut, forged, or of another length."""
    rng = random.Random(seed)
    records = [rng.randbytes(size) for _ in range(count)]
    if how == "odd":
        records[rng.randrange(count)] = rng.randbytes(rng.randrange(0, 2 * size + 2))
    same(_corrupt(write_records(records), rng, "none" if how == "odd" else how), verify, chunk)


def test_a_run_of_one_length_is_the_walk() -> None:
    from tfrecord_lite.format.records import _same_length_run

    data = write_records([b"abc"] * 5 + [b"de"] + [b"abc"] * 5)
    assert _same_length_run(data) == ([], [], 0)  # not all one length: the walk reads it
    data = write_records([b"abc"] * 5 + [b"de"])
    assert _same_length_run(data) == ([b"abc"] * 5, [3] * 5, 95)  # the walk reads on from 95
    data = write_records([b"abc", b"xyz"]) + b"\x00" * 5  # a cut header after them
    assert _same_length_run(data) == ([b"abc", b"xyz"], [3, 3], 38)
