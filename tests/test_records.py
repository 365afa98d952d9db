"""Framing: known bytes, round trips in every compression mode, and typed errors with offsets."""

from __future__ import annotations

import base64
import errno
import io
import os
import random
import struct
import tempfile
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfrecord_lite import (
    DataCRCError,
    LengthCRCError,
    RecordError,
    TFRecordOptions,
    TFRecordWriter,
    TruncatedRecordError,
    tf_record_iterator,
)
from tfrecord_lite.format.crc import masked_crc

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


def _framed_one_by_one(records) -> bytes:
    """The framing spelled out record by record, independent of the writer's batching."""
    out = b""
    for r in records:
        header = struct.pack("<Q", len(r))
        out += header + struct.pack("<I", masked_crc(header)) + r
        out += struct.pack("<I", masked_crc(r))
    return out


# sizes around the writer's thresholds: small records are framed in batches (64 by write, 256
# by write_many), records of 1024 bytes or more one at a time, and both kinds interleave; the
# run of small ones after the mixed start fills whole batches while some small records wait
MIXED = [bytes([i % 251]) * n for i, n in enumerate(
    [0, 1, 100, 1023, 1024, 1025, 5] * 30 + [100] * 700 + [70_000, 3, 2]
)]


@pytest.mark.parametrize("many", ["write", "write_many(list)", "write_many(iterator)"])
@pytest.mark.parametrize("target", ["path", "file object"])
def test_batched_framing_is_record_by_record_framing(tmp_path, many, target) -> None:
    path = tmp_path / "mixed.tfrecord"
    sink = str(path) if target == "path" else open(path, "wb")
    with TFRecordWriter(sink) as w:
        w.write(b"before")  # a small record waiting in a batch when write_many starts
        if many == "write_many(list)":
            w.write_many(MIXED)
        elif many == "write_many(iterator)":
            w.write_many(iter(MIXED))
        else:
            for r in MIXED:
                w.write(r)
    if target != "path":
        sink.close()
    assert path.read_bytes() == _framed_one_by_one([b"before", *MIXED])


def test_flush_hands_every_record_to_the_file(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    w = TFRecordWriter(str(path))
    w.write(b"small")
    w.write(b"x" * 5000)
    w.write(b"tiny")
    assert path.stat().st_size == 0  # still gathered
    w.flush()
    assert path.read_bytes() == _framed_one_by_one([b"small", b"x" * 5000, b"tiny"])
    w.close()


def test_a_reused_buffer_does_not_change_written_records(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    buf = bytearray(b"first")
    big = bytearray(b"A" * 3000)
    with TFRecordWriter(str(path)) as w:
        w.write(buf)
        w.write(memoryview(big))
        buf[:] = b"later"
        big[:] = b"B" * 3000
    assert list(tf_record_iterator(path)) == [b"first", b"A" * 3000]


def test_write_many_takes_any_bytes_like_and_keeps_no_reference(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    bufs = [bytearray(b"rec%d" % i) for i in range(300)]
    with TFRecordWriter(str(path)) as w:
        w.write_many([*bufs, memoryview(b"view")])
        for b in bufs:
            b[:] = b"changed"
    assert list(tf_record_iterator(path)) == [b"rec%d" % i for i in range(300)] + [b"view"]


def test_a_dropped_writer_still_writes_what_it_holds(tmp_path) -> None:
    path = tmp_path / "a.tfrecord"
    w = TFRecordWriter(str(path))
    w.write(b"kept")
    del w
    assert list(tf_record_iterator(path)) == [b"kept"]


def test_short_writes_are_continued(tmp_path, monkeypatch) -> None:
    # the kernel may write less than asked (a signal, a nearly full disk): the rest follows
    from tfrecord_lite.format import records

    real = os.writev

    def stingy(fd, pieces):
        return real(fd, [bytes(b"".join(bytes(p) for p in pieces)[:7])])

    monkeypatch.setattr(records, "_WRITEV", stingy)
    path = tmp_path / "a.tfrecord"
    with TFRecordWriter(str(path)) as w:
        w.write_many(MIXED[:40])
        w.write(b"y" * 3000)
    assert path.read_bytes() == _framed_one_by_one([*MIXED[:40], b"y" * 3000])


def _varied(total: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    out, size = [], 0
    while size < total:
        n = rng.choice([rng.randrange(1, 1024), rng.randrange(1024, 20_000)])
        out.append(rng.randbytes(n))
        size += n
    return out


def test_many_gathers_written_behind_stay_in_order(tmp_path, monkeypatch) -> None:
    # several MiB: full gathers go to the helper thread, which here is slow and uneven
    from tfrecord_lite.format import records

    real, rng = os.writev, random.Random(3)

    def slow(fd, pieces):
        time.sleep(rng.random() / 200)
        return real(fd, pieces)

    monkeypatch.setattr(records, "_WRITEV", slow)
    recs = _varied(5 << 20)
    path = tmp_path / "a.tfrecord"
    with TFRecordWriter(str(path)) as w:
        for r in recs:
            w.write(r)
    assert path.read_bytes() == _framed_one_by_one(recs)


def test_an_error_of_the_helper_thread_reaches_the_caller(tmp_path, monkeypatch) -> None:
    from tfrecord_lite.format import records

    def full_disk(fd, pieces):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(records, "_WRITEV", full_disk)
    path = tmp_path / "a.tfrecord"
    w = TFRecordWriter(str(path))
    with pytest.raises(OSError, match="No space left"):
        for r in _varied(4 << 20):
            w.write(r)
        w.close()
    w.close()  # nothing is left to write: closing after the error is quiet


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_writer_is_refused_in_a_forked_child(tmp_path) -> None:
    w = TFRecordWriter(str(tmp_path / "a.tfrecord"))
    for r in _varied(2 << 20):
        w.write(r)
    pid = os.fork()
    if pid == 0:  # the child: its copy of the writer has no helper thread
        try:
            for r in _varied(2 << 20):
                w.write(r)
            w.flush()
        except RuntimeError:
            os._exit(7)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    w.close()
    assert os.waitstatus_to_exitcode(status) == 7


@pytest.mark.parametrize("target", ["path", "file object"])
def test_write_parts_is_write_of_the_joined_parts(tmp_path, target) -> None:
    rng = random.Random(11)
    records = [
        [b"ab", b"", b"cd"],  # small: joined and batched with the small records
        [rng.randbytes(600), rng.randbytes(70_000), rng.randbytes(3)],
        [memoryview(rng.randbytes(2000)), bytearray(b"tail")],  # copied, not kept by reference
        [bytes([i % 256]) for i in range(2500)],  # more pieces than one writev takes
    ]
    path = tmp_path / "a.tfrecord"
    sink = str(path) if target == "path" else open(path, "wb")
    with TFRecordWriter(sink) as w:
        for parts in records:
            w.write_parts(parts)
            w.write(b"between")
    if target != "path":
        sink.close()
    joined = [b"".join(bytes(p) for p in parts) for parts in records]
    expected = [r for record in joined for r in (record, b"between")]
    assert path.read_bytes() == _framed_one_by_one(expected)


@pytest.mark.parametrize("target", ["path", "file object"])
def test_writing_to_a_closed_writer_is_an_error(tmp_path, target) -> None:
    # records must not vanish, nor go to whatever file reuses the closed descriptor
    sink = str(tmp_path / "a") if target == "path" else io.BytesIO()
    w = TFRecordWriter(sink)
    w.close()
    for call in (lambda: w.write(b"x"), lambda: w.write(b"y" * 5000),
                 lambda: w.write_many([b"z"]), lambda: w.write_parts([b"a" * 3000]), w.flush):
        with pytest.raises(ValueError, match="closed TFRecordWriter"):
            call()
    w.close()  # closing twice is fine


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["write", "write_many", "write_parts"]),
                          st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 300)),
                                   max_size=4)), max_size=6))
def test_any_mix_of_calls_frames_like_one_record_at_a_time(calls) -> None:
    # batches of small records, large records, pieces and flushes in any order: the file must
    # hold exactly the records in call order (sizes come in runs, so whole batches of small
    # records follow large ones)
    expected = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "a.tfrecord")
        with TFRecordWriter(path) as w:
            for k, (how, runs) in enumerate(calls):
                sizes = [n for n, count in runs for _ in range(count)]
                recs = [bytes([(k + i) % 256]) * n for i, n in enumerate(sizes)]
                expected += recs
                if how == "write_many":
                    w.write_many(recs)
                elif how == "write_parts":
                    for r in recs:
                        w.write_parts((r[:7], r[7:]))
                else:
                    for r in recs:
                        w.write(r)
                if k % 3 == 2:
                    w.flush()
        with open(path, "rb") as f:
            assert f.read() == _framed_one_by_one(expected)


@pytest.mark.parametrize("writev", [True, False])
def test_byte_ranges_written_at_offsets_make_the_whole_file(tmp_path, monkeypatch, writev) -> None:
    # how several processes write one shard: each its own records, from its own offset, in any
    # order; the file is the records framed one after another
    from tfrecord_lite.format import records

    if not writev:
        monkeypatch.setattr(records, "_WRITEV", None)
    recs = _varied(3 << 20)
    cuts = [0, 5, len(recs) // 2, len(recs) - 1, len(recs)]
    pieces = tmp_path / "pieces.tfrecord"
    for a, b in reversed(list(zip(cuts, cuts[1:]))):  # the last range first: a hole before it
        offset = sum(len(r) + 16 for r in recs[:a])
        with TFRecordWriter(pieces, offset=offset) as w:
            for r in recs[a:b]:
                w.write_parts((r[:3], r[3:]))
    assert pieces.read_bytes() == _framed_one_by_one(recs)


@pytest.mark.parametrize("writev", [True, False])
def test_at_once_writes_each_large_record_before_the_next_and_the_same_bytes(
        tmp_path, monkeypatch, writev) -> None:
    # the converter's writer: a record's image is copied to the file while still in the cache;
    # without writev the file object's own buffer stands between, and only the bytes are checked
    from tfrecord_lite.format import records

    if not writev:
        monkeypatch.setattr(records, "_WRITEV", None)
    recs = _varied(3 << 20)
    path = tmp_path / "at-once.tfrecord"
    framed = 0
    with TFRecordWriter(path, offset=0, at_once=True) as w:
        for r in recs:
            w.write_parts((r[:3], r[3:]))
            framed += len(r) + 16
            if writev and len(r) >= records._SMALL:
                assert path.stat().st_size == framed
    assert path.read_bytes() == _framed_one_by_one(recs)

def test_offset_needs_a_path_without_compression(tmp_path) -> None:
    with pytest.raises(ValueError, match="offset"):
        TFRecordWriter(io.BytesIO(), offset=0)
    with pytest.raises(ValueError, match="offset"):
        TFRecordWriter(str(tmp_path / "z"), "GZIP", offset=0)


def test_many_files_a_list_or_a_glob(tmp_path) -> None:
    paths = []
    for i, kind in enumerate(["", "GZIP", "ZLIB"]):
        paths.append(tmp_path / f"part-{i}.tfrecord")
        paths[-1].write_bytes(write_records([b"%d" % i, b"x" * i], kind))
    want = [b"0", b"", b"1", b"x", b"2", b"xx"]
    assert list(tf_record_iterator(paths, compression="auto")) == want
    assert list(tf_record_iterator(str(tmp_path / "part-*.tfrecord"), "auto")) == want
    assert list(tf_record_iterator([str(tmp_path / "part-[12]*")], "auto")) == want[2:]
    with pytest.raises(FileNotFoundError, match="no file matches"):
        list(tf_record_iterator(str(tmp_path / "nothing-*")))
    # a file whose very name holds glob characters is that file
    odd = tmp_path / "odd[1].tfrecord"
    odd.write_bytes(write_records([b"odd"]))
    assert list(tf_record_iterator(str(odd))) == [b"odd"]


@pytest.mark.parametrize("chunk", [1, 5, 12, 13, 100, 4096])
def test_records_cut_by_any_read_size(chunk) -> None:
    from tfrecord_lite.format.records import _iter_frames

    rng = random.Random(chunk)
    records = [rng.randbytes(rng.randrange(0, 3000)) for _ in range(60)]
    data = write_records(records)
    assert list(_iter_frames(io.BytesIO(data).read, "x", True, 0, chunk)) == records
    bad = bytearray(data)
    at = sum(len(r) + 16 for r in records[:40])
    bad[at + 12] ^= 0x01  # the 41st record's first data byte (or its CRC, when empty)
    got = []
    with pytest.raises(DataCRCError) as err:
        for r in _iter_frames(io.BytesIO(bytes(bad)).read, "x", True, 0, chunk):
            got.append(r)
    assert got == records[:40] and err.value.offset == at


def test_a_record_larger_than_the_read_size(tmp_path) -> None:
    big = random.Random(3).randbytes(3 << 20)
    records = [b"a", big, b"b" * 2000, big[:-1]]
    data = write_records(records)
    assert list(tf_record_iterator(io.BytesIO(data))) == records
    bad = bytearray(data)
    bad[17 + 12 + 1_000_000] ^= 0x10
    got = []
    with pytest.raises(DataCRCError) as err:
        for r in tf_record_iterator(io.BytesIO(bytes(bad))):
            got.append(r)
    assert got == [b"a"] and err.value.offset == 17
    with pytest.raises(TruncatedRecordError, match="the stream ends after"):
        list(tf_record_iterator(io.BytesIO(data[: 17 + 2_000_000])))


def test_batches_hold_the_same_records() -> None:
    from tfrecord_lite import tf_record_batches

    records = [b"%d" % i * (i % 50) for i in range(20_000)]
    batches = list(tf_record_batches(io.BytesIO(write_records(records))))
    assert len(batches) > 1 and [r for b in batches for r in b] == records
