"""GZIP/ZLIB files TensorFlow writes: read without options through ``auto``, and broken ones
reported at the record TensorFlow's own bytes say is the first unreadable one."""

from __future__ import annotations

import random
import zlib
from pathlib import Path
from typing import Any

import pytest
from compat_util import tf_records

from tfrecord_lite import DataCRCError, DataLossError, RecordError, tf_record_iterator

RNG = random.Random(1717)
RECORDS = [RNG.randbytes(RNG.randrange(0, 3000)) for _ in range(300)]


def tf_write(tf: Any, path: Path, kind: str, records=RECORDS) -> None:
    with tf.io.TFRecordWriter(str(path), tf.io.TFRecordOptions(compression_type=kind)) as w:
        for record in records:
            w.write(record)


def starts(records) -> list[int]:
    out = [0]
    for r in records:
        out.append(out[-1] + len(r) + 16)
    return out


@pytest.mark.parametrize("kind", ["", "GZIP", "ZLIB"])
def test_auto_reads_what_tf_writes(tf: Any, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "data.bin"  # the name tells nothing
    tf_write(tf, path, kind)
    assert list(tf_record_iterator(path, compression="auto")) == tf_records(tf, path, kind)


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_flipped_byte_is_reported_at_a_tf_record_start(tf: Any, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "tf.tfrecord"
    tf_write(tf, path, kind)
    data = path.read_bytes()
    offsets = starts(RECORDS)
    for pos in (len(data) // 3, len(data) // 2, len(data) - 6):
        bad = bytearray(data)
        bad[pos] ^= 0x55
        path.write_bytes(bytes(bad))
        got: list[bytes] = []
        with pytest.raises(RecordError) as err:
            for record in tf_record_iterator(path, compression="auto"):
                got.append(record)
        with pytest.raises(tf.errors.DataLossError):
            tf_records(tf, path, kind)  # TensorFlow calls it data loss too
        assert got == RECORDS[: len(got)]  # what we return is what TensorFlow wrote
        assert err.value.offset == offsets[len(got)]
        assert isinstance(err.value, (DataLossError, DataCRCError)), err.value
        if isinstance(err.value, DataLossError):
            assert pos <= err.value.compressed_offset <= len(data)


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_cut_at_a_flush_point(tf: Any, tmp_path: Path, kind: str) -> None:
    """TensorFlow reads a stream cut at a flush point silently; we return the same records and
    then say the stream was cut (both kinds alike), with where."""
    whole = tmp_path / "whole.tfrecord"
    tf_write(tf, whole, "", RECORDS[:40])
    z = zlib.compressobj(6, zlib.DEFLATED, 31 if kind == "GZIP" else 15, 9)
    cut = z.compress(whole.read_bytes()) + z.flush(zlib.Z_SYNC_FLUSH)
    path = tmp_path / "cut.tfrecord"
    path.write_bytes(cut)
    theirs = tf_records(tf, path, kind)
    got: list[bytes] = []
    with pytest.raises(DataLossError) as err:
        for record in tf_record_iterator(path, compression=kind):
            got.append(record)
    assert got == theirs == RECORDS[:40]
    assert err.value.offset == whole.stat().st_size
    assert err.value.compressed_offset == len(cut)


def test_plain_read_of_tf_gzip_says_what_to_pass(tf: Any, tmp_path: Path) -> None:
    path = tmp_path / "tf.tfrecord.gz"
    tf_write(tf, path, "GZIP")
    with pytest.raises(RecordError, match="read it with compression='GZIP'"):
        list(tf_record_iterator(path))
