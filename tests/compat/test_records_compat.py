"""TFRecord files: TensorFlow reads what we write, we read what TensorFlow writes, same bytes."""

from __future__ import annotations

import random
import zlib
from pathlib import Path
from typing import Any

import pytest
from compat_util import tf_records

from tfrecord_lite import ShardedWriter, TFRecordOptions, TFRecordWriter, tf_record_iterator


def make_records() -> list[bytes]:
    """Sizes that exercise the framing: empty, tiny, around buffer sizes, 1 MB, compressible."""
    rng = random.Random(1234)
    records = [b"", b"\x00", b"foo", bytes(range(256))]
    for size in (127, 128, 4095, 4096, 4097, 65535, 65536, 65537, 262_145, 1 << 20):
        records.append(rng.randbytes(size))
    records.append(b"compressible " * 20_000)
    records += [rng.randbytes(rng.randrange(0, 300)) for _ in range(500)]
    return records


RECORDS = make_records()

# (our options, TF's compression_type, TF's compression_level)
OPTIONS: list[tuple[Any, str, int | None]] = [
    (None, "", None),
    ("GZIP", "GZIP", None),
    ("ZLIB", "ZLIB", None),
    (TFRecordOptions("GZIP", 1), "GZIP", 1),
    (TFRecordOptions("ZLIB", 9), "ZLIB", 9),
    (TFRecordOptions("GZIP", 0), "GZIP", 0),
]
IDS = ["plain", "gzip", "zlib", "gzip-1", "zlib-9", "gzip-0"]


def tf_write(tf: Any, path: Path, records: list[bytes], kind: str, level: int | None) -> None:
    options = tf.io.TFRecordOptions(compression_type=kind, compression_level=level)
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for record in records:
            writer.write(record)


@pytest.mark.parametrize(("ours", "kind", "level"), OPTIONS, ids=IDS)
def test_tf_reads_what_we_write(tf: Any, tmp_path: Path, ours: Any, kind: str, level: Any) -> None:
    path = tmp_path / "ours.tfrecord"
    with TFRecordWriter(str(path), ours) as writer:
        for record in RECORDS[:10]:
            writer.write(record)
        writer.write_many(RECORDS[10:])
    assert tf_records(tf, path, kind) == RECORDS


@pytest.mark.parametrize(("ours", "kind", "level"), OPTIONS, ids=IDS)
def test_we_read_what_tf_writes(tf: Any, tmp_path: Path, ours: Any, kind: str, level: Any) -> None:
    path = tmp_path / "tf.tfrecord"
    tf_write(tf, path, RECORDS, kind, level)
    assert list(tf_record_iterator(str(path), ours)) == RECORDS


@pytest.mark.parametrize(("ours", "kind", "level"), OPTIONS, ids=IDS)
def test_same_bytes_as_tf(tf: Any, tmp_path: Path, ours: Any, kind: str, level: Any) -> None:
    """Uncompressed must match exactly; compressed too with classic zlib (not zlib-ng).

    Level 0 is the exception: its stored-block sizes follow the output buffer each deflate()
    call is given (TensorFlow's 256 KiB buffer vs Python's growing one), so only records match.
    """
    theirs_path, ours_path = tmp_path / "tf.tfrecord", tmp_path / "ours.tfrecord"
    tf_write(tf, theirs_path, RECORDS, kind, level)
    with TFRecordWriter(str(ours_path), ours) as writer:
        writer.write_many(RECORDS)
    theirs, mine = theirs_path.read_bytes(), ours_path.read_bytes()
    if not kind or (level != 0 and "ng" not in zlib.ZLIB_RUNTIME_VERSION):
        assert mine == theirs
    else:
        wbits = 31 if kind == "GZIP" else 15
        assert zlib.decompress(mine, wbits) == zlib.decompress(theirs, wbits)


def test_tf_flush_then_more_records(tf: Any, tmp_path: Path) -> None:
    """A flushed-then-continued GZIP stream from TF (sync points inside) still reads."""
    path = tmp_path / "flushed.tfrecord"
    with tf.io.TFRecordWriter(str(path), "GZIP") as writer:
        for i, record in enumerate(RECORDS[:50]):
            writer.write(record)
            if i % 7 == 0:
                writer.flush()
    assert list(tf_record_iterator(str(path), "GZIP")) == RECORDS[:50]


def test_our_flush_mid_stream_is_readable_by_tf(tf: Any, tmp_path: Path) -> None:
    path = tmp_path / "flushed.tfrecord"
    with TFRecordWriter(str(path), "ZLIB") as writer:
        for i, record in enumerate(RECORDS[:50]):
            writer.write(record)
            if i % 7 == 0:
                writer.flush()
    assert tf_records(tf, path, "ZLIB") == RECORDS[:50]


@pytest.mark.parametrize("options", [None, "GZIP", "ZLIB"])
def test_tf_reads_our_shards_as_one_dataset(tf: Any, tmp_path: Path, options: Any) -> None:
    rng = random.Random(7)
    records = [rng.randbytes(rng.randrange(500, 3000)) for _ in range(400)]
    with ShardedWriter(tmp_path, "train", max_bytes=100_000, options=options) as writer:
        for record in records:
            writer.write(record)
    paths = list(writer.paths)
    assert len(paths) > 3
    n = len(paths)
    assert [Path(p).name for p in paths] == [f"train-{i:05d}-of-{n:05d}.tfrecord" for i in range(n)]
    assert all(Path(p).stat().st_size <= 100_000 for p in paths)
    assert tf_records(tf, paths, options or "") == records
    # and file by file, in order, through TF's own glob
    pattern = str(tmp_path / "train-*-of-*.tfrecord")
    files = sorted(tf.io.gfile.glob(pattern))
    assert tf_records(tf, files, options or "") == records
